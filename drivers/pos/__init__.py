"""Point-of-sale drivers: every order the kitchen gets also becomes a check on the POS."""
