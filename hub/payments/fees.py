"""Platform fee arithmetic: what the hub keeps of each charge, and what it gives back on a refund.

Integer minor units only (cents, yen, fils): no floats anywhere, so the same rule gives the same
number on every machine and in every currency. The rounding rule is written down in
docs/payments.md ("Fee plans and rounding", "Refunds"); change both together.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contract.money import MAX_MINOR

BASIS_POINTS_WHOLE = 10_000  # 10 000 basis points = 100 %


class FeePlanError(ValueError):
    """A fee plan field is missing or wrong; `field` names it for the operator API's error body."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _is_int(value: object) -> bool:
    # bool is an int subclass; `True` as an amount is a client mistake, not 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _minor(value: object) -> bool:
    return _is_int(value) and 0 <= value <= MAX_MINOR  # type: ignore[operator]


@dataclass(frozen=True, slots=True)
class FeePlan:
    """basis_points of the fee base, plus fixed_minor, then raised to min_minor and lowered to cap_minor."""

    basis_points: int
    fixed_minor: int = 0
    min_minor: int | None = None
    cap_minor: int | None = None
    fee_on_tips: bool = False

    def __post_init__(self) -> None:
        if not _is_int(self.basis_points) or not 0 <= self.basis_points <= BASIS_POINTS_WHOLE:
            raise FeePlanError("basis_points", f"must be a whole number from 0 to {BASIS_POINTS_WHOLE}")
        if not _minor(self.fixed_minor):
            raise FeePlanError("fixed_minor", f"must be a whole number of minor units, 0 to {MAX_MINOR}")
        if self.min_minor is not None and not _minor(self.min_minor):
            raise FeePlanError("min_minor", f"must be null or a whole number of minor units, 0 to {MAX_MINOR}")
        if self.cap_minor is not None:
            if not _minor(self.cap_minor):
                raise FeePlanError("cap_minor", f"must be null or a whole number of minor units, 0 to {MAX_MINOR}")
            if self.min_minor is not None and self.cap_minor < self.min_minor:
                raise FeePlanError("cap_minor", "must not be less than min_minor")
        if not isinstance(self.fee_on_tips, bool):
            raise FeePlanError("fee_on_tips", "must be true or false")

    @classmethod
    def parse(cls, data: Any) -> "FeePlan":
        """A plan from decoded JSON (the operator API); FeePlanError names the first bad field."""
        if not isinstance(data, Mapping):
            raise FeePlanError("plan", "must be a JSON object")
        known = {"basis_points", "fixed_minor", "min_minor", "cap_minor", "fee_on_tips"}
        unknown = sorted(str(key) for key in data if key not in known)
        if unknown:
            raise FeePlanError(unknown[0], "is not a fee plan field")
        if "basis_points" not in data:
            raise FeePlanError("basis_points", "is required")
        return cls(**data)


def _round_half_up_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for numerator >= 0 and denominator > 0."""
    return (2 * numerator + denominator) // (2 * denominator)


def _check_amount(name: str, value: object) -> int:
    if not _is_int(value) or value < 0:
        raise ValueError(f"{name} must be a whole number of minor units, 0 or more (got {value!r})")
    return value


def platform_fee(plan: FeePlan, amount_minor: int, tip_minor: int = 0) -> int:
    """The platform's fee on one charge of amount_minor plus tip_minor, in the same minor units.

    base = amount (+ tip when the plan says so); fee = round_half_up(bp * base / 10000) + fixed;
    then at least min, at most cap; finally never more than the base (so never more than the
    charge, and never anything out of a tip the plan leaves alone) and never below 0.
    """
    amount = _check_amount("amount_minor", amount_minor)
    tip = _check_amount("tip_minor", tip_minor)
    base = amount + tip if plan.fee_on_tips else amount
    fee = _round_half_up_div(plan.basis_points * base, BASIS_POINTS_WHOLE) + plan.fixed_minor
    if plan.min_minor is not None:
        fee = max(fee, plan.min_minor)
    if plan.cap_minor is not None:
        fee = min(fee, plan.cap_minor)
    return max(0, min(fee, base))


def fee_given_back(fee_minor: int, charge_minor: int, refunded_minor: int) -> int:
    """How much of the fee has been given back once refunded_minor of the charge is refunded in total.

    round_half_up(fee * refunded / charge): exactly 0 at 0 and exactly the fee at the whole charge.
    """
    if charge_minor == 0:
        return 0
    return _round_half_up_div(fee_minor * refunded_minor, charge_minor)


def refund_fee(plan_fee_minor: int, charge_minor: int, refunded_before_minor: int, refund_minor: int) -> int:
    """The part of the fee to give back for this refund.

    Computed cumulatively (what should be back after this refund minus what was back before it),
    so however a charge is split into refunds, the parts add up to exactly the whole fee.
    ValueError if the refund is more than what is left of the charge.
    """
    charge = _check_amount("charge_minor", charge_minor)
    fee = _check_amount("plan_fee_minor", plan_fee_minor)
    before = _check_amount("refunded_before_minor", refunded_before_minor)
    refund = _check_amount("refund_minor", refund_minor)
    if fee > charge:
        raise ValueError(f"plan_fee_minor {fee} is more than the charge {charge}")
    if before > charge:
        raise ValueError(f"refunded_before_minor {before} is more than the charge {charge}")
    if refund > charge - before:
        raise ValueError(f"refund {refund} is more than what is left of the charge ({charge - before})")
    return fee_given_back(fee, charge, before + refund) - fee_given_back(fee, charge, before)
