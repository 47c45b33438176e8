"""The hub's pages for people: the diner's pay, return and cancel pages (plain HTML, no scripts)."""
