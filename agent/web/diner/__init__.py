"""The diner's side over HTTP: the table page and static files, ordering, the visit and the bill."""
