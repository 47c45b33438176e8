"""Enrolling agents: one-time codes, the hub's CA, certificates, revocation (docs/security.md)."""
