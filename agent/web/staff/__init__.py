"""The staff dashboard over HTTP: the guard every handler calls, sign-in and accounts, the menu editor, tables, and service (board, bills, devices, report)."""
