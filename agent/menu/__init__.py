"""The menu: what the restaurant sells, how an order is priced from it, and how staff and the POS change it."""
