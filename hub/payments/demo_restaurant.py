"""The demo's restaurant: made at the first `tableside demo` start, found again at every later one."""

import logging
from typing import Any

from hub.payments.api import onboarding_url, restaurant_view
from hub.payments.context import Payments
from hub.payments.fees import FeePlan
from hub.payments.providers import ProviderError

log = logging.getLogger(__name__)

DEMO_RESTAURANT_ID = "demo-restaurant"
DEMO_PLAN = FeePlan(basis_points=150, fixed_minor=10)  # 1.5 % + 0.10 EUR


async def ensure_demo_restaurant(payments: Payments, name: str = "Tableside demo") -> dict[str, Any]:
    """The demo's restaurant (EUR, 1.5 % + 0.10), with no agent until the demo pairs one with a code as
    an installer would; with Stripe configured, its connected account too, and a fresh onboarding link
    under "onboarding_url" while it cannot take charges. `name`: the restaurant's own, as its menu says,
    so the pay page and the staff screens agree."""
    service = payments.service
    row = await service.restaurant(DEMO_RESTAURANT_ID)
    if row is None:
        row = await service.create_restaurant(
            name=name, country="DE", currency="EUR", plan=DEMO_PLAN, fee_on_external=True,
            agent_ids=[], charges_enabled=payments.provider.name == "demo", restaurant_id=DEMO_RESTAURANT_ID)
    url = None
    if payments.provider.name != "demo" and not row["charges_enabled"]:
        try:
            url = await onboarding_url(payments, row)
        except ProviderError as exc:
            log.error("demo restaurant: no Stripe onboarding link: %s", exc)
    view = restaurant_view(await service.restaurant(row["id"]))
    view["onboarding_url"] = url
    return view
