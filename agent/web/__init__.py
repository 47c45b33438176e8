"""The agent's HTTP side: JSON API, diner pages, static files."""
