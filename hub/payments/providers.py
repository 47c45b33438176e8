"""Who takes the money: the interface every provider has, and the demo provider.

The demo provider (no TABLESIDE_STRIPE_SECRET_KEY) moves no money: the hub shows its own card page
(hub/web/pay.py) whose buttons go through the same PaymentService calls a Stripe webhook would.
"""

from dataclasses import dataclass
from typing import Protocol

from hub.payments.records import Row


class ProviderError(Exception):
    """The provider refused or could not be reached; the message is safe to show an operator."""


@dataclass(frozen=True)
class Checkout:
    session_id: str
    url: str | None  # None: the hub renders the card page itself (demo)


class Provider(Protocol):
    name: str

    async def create_account(self, restaurant: Row) -> str | None:
        """The restaurant's connected account id (None when the provider has no accounts)."""

    async def onboarding_link(self, account_id: str, *, refresh_url: str, return_url: str) -> str | None: ...

    async def open_checkout(self, attempt: Row, account_id: str | None, *, success_url: str,
                            cancel_url: str) -> Checkout: ...

    async def expire_checkout(self, attempt: Row) -> str:
        """Close an open session: "expired", or its status when it could not be ("complete"...)."""

    async def refund(self, payment: Row, refund: Row) -> str:
        """Money back to the diner; the provider's refund id. ProviderError when refused."""


class DemoProvider:
    """No accounts, no network: sessions and refunds succeed at once (the card page decides the rest)."""

    name = "demo"

    async def create_account(self, restaurant: Row) -> str | None:
        return None

    async def onboarding_link(self, account_id: str, *, refresh_url: str, return_url: str) -> str | None:
        return None

    async def open_checkout(self, attempt: Row, account_id: str | None, *, success_url: str,
                            cancel_url: str) -> Checkout:
        return Checkout(session_id=f"demo_{attempt['id']}", url=None)

    async def expire_checkout(self, attempt: Row) -> str:
        return "expired"

    async def refund(self, payment: Row, refund: Row) -> str:
        return f"demo_re_{refund['id']}"
