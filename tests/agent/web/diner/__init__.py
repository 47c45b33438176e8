"""The diner app: its server side (pages, static files, photos) and the app itself in Chromium."""
