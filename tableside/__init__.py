"""The `tableside` command: the one place that wires the agent, the hub and the demo together.

It may import every package; agent and hub never import each other.
"""
