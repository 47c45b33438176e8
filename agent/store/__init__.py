"""The agent's SQLite store: one writer thread, reader threads, named migrations."""
