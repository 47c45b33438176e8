"""The hub's payments: restaurants and their fee plans, taking a share's money (Stripe Connect or the
demo provider), webhooks, refunds, the ledger in the database, reconciliation and reports.

See docs/payments.md ("The pay path", "Reports").
"""
