"""The agent <-> hub contract: topics, envelope, message types and money. Nothing else.

Both sides import this package and nothing of each other.
"""
