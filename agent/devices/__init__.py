"""Printers and the POS: the job queue, the dispatcher that delivers it, held tickets, device state for the hub, installer checks."""
