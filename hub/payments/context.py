"""Payments: what the pay pages, webhooks, operator API and reconciler share (one per app)."""

from dataclasses import dataclass

from aiohttp import web

from hub.config import HubConfig
from hub.payments.providers import DemoProvider, Provider
from hub.payments.service import PaymentService
from hub.payments.stripe_provider import StripeProvider
from hub.store import HubStore


@dataclass
class Payments:
    config: HubConfig
    store: HubStore  # the agents' keys and clock offsets
    service: PaymentService
    provider: Provider

    def url(self, path: str) -> str:
        return f"{self.config.public_url}{path}"


PAYMENTS = web.AppKey("payments", Payments)


def make_provider(config: HubConfig, *, max_network_retries: int = 2) -> Provider:
    """Stripe when a secret key is configured, else the demo provider."""
    if config.stripe_secret_key:
        return StripeProvider(config.stripe_secret_key, config.stripe_api_base,
                              max_network_retries=max_network_retries)
    return DemoProvider()
