"""The agent <-> hub contract: topics, envelope, message types and money; and how each side
describes its HTTP API to its clients (openapi.py). Nothing else.

Both sides import this package and nothing of each other.
"""
