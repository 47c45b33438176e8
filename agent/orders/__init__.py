"""Orders: placing one (priced, routed, written with its jobs and its message in one transaction) and moving it through the kitchen."""
