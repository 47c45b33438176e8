"""Staff accounts, sign-in, sessions and the guard every staff handler calls."""
