"""What the operator's payment API and the Stripe webhook answer on success (hub/payments/api.py,
webhook.py; contract/openapi.py). Money is in minor units, as everywhere."""

from datetime import datetime
from typing import Literal

import msgspec

from contract.messages import PaymentMethod
from contract.openapi import Answer


class FeePlanView(Answer):
    basis_points: int
    fixed_minor: int
    min_minor: int | None
    cap_minor: int | None
    fee_on_tips: bool


class Restaurant(Answer):
    id: str
    name: str
    country: str
    currency: str
    fee_plan: FeePlanView
    fee_on_external: bool
    agent_ids: list[str]
    stripe_account_id: str | None
    charges_enabled: bool
    created_at: datetime


class CreatedRestaurant(Restaurant):
    onboarding_url: str | None  # None with the demo provider, or when Stripe failed
    onboarding_error: str | msgspec.UnsetType = msgspec.UNSET  # only when Stripe failed


class Restaurants(Answer):
    restaurants: list[Restaurant]


class OnboardingLink(Answer):
    restaurant_id: str
    onboarding_url: str


class Refund(Answer):
    id: str
    payment_id: str
    amount_minor: int
    fee_refunded_minor: int | None  # set when it succeeded
    status: Literal["pending", "succeeded", "failed"]
    provider_refund_id: str | None
    reason: str
    requested_by: str  # operator | staff:<agent id> | stripe
    failure: str | None
    created_at: datetime
    done_at: datetime | None


class Payment(Answer):
    id: str
    share_id: str
    restaurant_id: str
    agent_id: str
    bill_id: str
    table_name: str
    currency: str
    amount_minor: int
    tip_minor: int
    fee_minor: int
    provider: str  # stripe | demo | external
    method: PaymentMethod
    status: str
    attempt_id: str | None
    checkout_session_id: str | None
    payment_intent_id: str | None
    charge_id: str | None
    refund_reserved_minor: int
    refunded_minor: int
    created_at: datetime
    paid_at: datetime


class PaymentWithRefunds(Payment):
    refunds: list[Refund]


class PaymentList(Answer):
    payments: list[Payment]


class DayTotals(Answer):
    currency: str
    gross: int
    tips: int
    fees: int
    fee_refunds: int
    refunds: int
    net: int


class RestaurantDay(DayTotals):
    restaurant_id: str
    restaurant_name: str


class PlatformDay(DayTotals):
    platform_fee_income: int


class DailyReport(Answer):
    date: str  # YYYY-MM-DD, a UTC day
    restaurants: list[RestaurantDay]
    platform: list[PlatformDay]


class WebhookReceived(Answer):
    received: bool
    event_id: str
    type: str
    first_time: bool  # false: this event id was handled before, nothing done again
    ignored: bool
    outcome: str
