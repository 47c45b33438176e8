"""The Tableside agent: the edge service on the restaurant network."""
