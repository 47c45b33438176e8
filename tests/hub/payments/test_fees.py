"""Fee arithmetic: hand-computed examples (the ones in docs/payments.md) and properties over any plan."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from contract.money import format_minor
from hub.payments.fees import FeePlan, FeePlanError, fee_given_back, platform_fee, refund_fee

amounts = st.integers(min_value=0, max_value=10**9)


@st.composite
def plans(draw):
    min_minor = draw(st.none() | st.integers(0, 5_000))
    cap_minor = draw(st.none() | st.integers(min_minor or 0, 50_000))
    return FeePlan(basis_points=draw(st.integers(0, 10_000)), fixed_minor=draw(st.integers(0, 1_000)),
                   min_minor=min_minor, cap_minor=cap_minor, fee_on_tips=draw(st.booleans()))


@st.composite
def partitions(draw, total):
    """A list of positive parts summing to total (in any order the refunds might come)."""
    cuts = sorted(draw(st.lists(st.integers(1, total - 1), max_size=12, unique=True))) if total > 1 else []
    bounds = [0, *cuts, total]
    return [b - a for a, b in zip(bounds, bounds[1:], strict=False)]


# Examples, worked by hand in docs/payments.md.

def test_eur_example_percentage_plus_fixed_rounds_half_up():
    plan = FeePlan(basis_points=290, fixed_minor=25)
    # 2.9 % of 18.50 EUR = 53.65 cents -> 54, + 25 = 79 cents.
    assert platform_fee(plan, 1850, 0) == 79
    # 2.9 % of 12.50 EUR = 36.25 -> 36, + 25 = 61: the tip of 2.00 is not in the base.
    assert platform_fee(plan, 1250, 200) == 61
    assert format_minor(platform_fee(plan, 1850, 0), "EUR") == "0.79 EUR"


def test_exact_half_rounds_up():
    plan = FeePlan(basis_points=150)
    assert platform_fee(plan, 1300, 0) == 20   # 19.5 -> 20
    assert platform_fee(plan, 1299, 0) == 19   # 19.485 -> 19
    assert platform_fee(plan, 100, 0) == 2     # 1.5 -> 2


def test_fee_on_tips_puts_the_tip_in_the_base():
    plan = FeePlan(basis_points=290, fixed_minor=25, fee_on_tips=True)
    # 2.9 % of 14.50 EUR = 42.05 -> 42, + 25 = 67.
    assert platform_fee(plan, 1250, 200) == 67


def test_jpy_example_in_whole_yen():
    plan = FeePlan(basis_points=360, fixed_minor=30, min_minor=50)
    # 3.6 % of 4,580 JPY = 164.88 -> 165, + 30 = 195 yen.
    assert platform_fee(plan, 4580, 0) == 195
    assert format_minor(195, "JPY") == "195 JPY"
    # 3.6 % of 300 = 10.8 -> 11, + 30 = 41, raised to the minimum 50.
    assert platform_fee(plan, 300, 0) == 50
    # A 40 yen charge: the minimum 50 would be more than the charge, so the fee is 40.
    assert platform_fee(plan, 40, 0) == 40


def test_cap_and_minimum():
    plan = FeePlan(basis_points=500, fixed_minor=0, min_minor=30, cap_minor=1000)
    assert platform_fee(plan, 100_000, 0) == 1000   # 5000 capped
    assert platform_fee(plan, 200, 0) == 30          # 10 raised to 30
    assert platform_fee(plan, 0, 0) == 0             # nothing charged, nothing kept


def test_the_minimum_never_takes_from_a_tip_without_fee():
    plan = FeePlan(basis_points=0, fixed_minor=0, min_minor=50)
    assert platform_fee(plan, 30, 500) == 30
    assert platform_fee(plan, 0, 500) == 0


def test_three_decimal_currency():
    plan = FeePlan(basis_points=250, fixed_minor=100)
    # 2.5 % of 12.345 KWD = 308.625 fils -> 309, + 100 = 409 = 0.409 KWD.
    assert format_minor(platform_fee(plan, 12_345, 0), "KWD") == "0.409 KWD"


def test_amounts_must_be_whole_minor_units():
    plan = FeePlan(basis_points=100)
    for bad in (12.5, -1, True, "100"):
        with pytest.raises(ValueError):
            platform_fee(plan, bad, 0)
        with pytest.raises(ValueError):
            platform_fee(plan, 100, bad)


# Plan validation: the error names the field for the operator API.

@pytest.mark.parametrize(("data", "field"), [
    ({}, "basis_points"),
    ({"basis_points": -1}, "basis_points"),
    ({"basis_points": 10_001}, "basis_points"),
    ({"basis_points": 2.9}, "basis_points"),
    ({"basis_points": "290"}, "basis_points"),
    ({"basis_points": True}, "basis_points"),
    ({"basis_points": 290, "fixed_minor": -5}, "fixed_minor"),
    ({"basis_points": 290, "fixed_minor": 0.25}, "fixed_minor"),
    ({"basis_points": 290, "min_minor": -1}, "min_minor"),
    ({"basis_points": 290, "cap_minor": "10"}, "cap_minor"),
    ({"basis_points": 290, "min_minor": 100, "cap_minor": 99}, "cap_minor"),
    ({"basis_points": 290, "fee_on_tips": "yes"}, "fee_on_tips"),
    ({"basis_points": 290, "fee_on_tips": 1}, "fee_on_tips"),
    ({"basis_points": 290, "percent": 3}, "percent"),
])
def test_parse_names_the_bad_field(data, field):
    with pytest.raises(FeePlanError) as caught:
        FeePlan.parse(data)
    assert caught.value.field == field
    assert field in str(caught.value)


def test_parse_refuses_a_non_object():
    with pytest.raises(FeePlanError) as caught:
        FeePlan.parse([290])
    assert caught.value.field == "plan"


def test_parse_accepts_a_full_plan():
    data = {"basis_points": 290, "fixed_minor": 25, "min_minor": 50, "cap_minor": 50, "fee_on_tips": True}
    assert FeePlan.parse(data) == FeePlan(290, 25, 50, 50, True)
    assert FeePlan.parse({"basis_points": 0}) == FeePlan(0)


def test_plans_are_immutable():
    plan = FeePlan(basis_points=290)
    with pytest.raises(AttributeError):
        plan.basis_points = 1


# Properties.

@given(plans(), amounts, amounts)
def test_fee_between_zero_and_the_charge(plan, amount, tip):
    fee = platform_fee(plan, amount, tip)
    assert isinstance(fee, int)
    assert 0 <= fee <= amount + tip


@given(plans(), amounts, amounts, st.integers(0, 10**6))
def test_fee_never_falls_when_the_amount_rises(plan, amount, tip, more):
    assert platform_fee(plan, amount, tip) <= platform_fee(plan, amount + more, tip)


@given(plans(), amounts, amounts)
def test_min_and_cap_respected(plan, amount, tip):
    fee = platform_fee(plan, amount, tip)
    base = amount + tip if plan.fee_on_tips else amount
    if plan.cap_minor is not None:
        assert fee <= plan.cap_minor
    if plan.min_minor is not None:
        # Only a charge smaller than the minimum pays less than the minimum (the whole base).
        assert fee >= plan.min_minor or fee == base


@given(plans(), amounts, amounts)
def test_tips_are_excluded_unless_the_plan_says_so(plan, amount, tip):
    with_tip = platform_fee(plan, amount, tip)
    if plan.fee_on_tips:
        assert with_tip == platform_fee(plan, amount + tip, 0)
    else:
        assert with_tip == platform_fee(plan, amount, 0)


@given(plans(), amounts)
def test_fee_matches_the_written_rule(plan, amount):
    # The rule in docs/payments.md, computed a second way: exact fractions, round half up.
    from fractions import Fraction
    exact = Fraction(plan.basis_points * amount, 10_000)
    rounded = int(exact) + (1 if exact - int(exact) >= Fraction(1, 2) else 0)
    fee = rounded + plan.fixed_minor
    if plan.min_minor is not None:
        fee = max(fee, plan.min_minor)
    if plan.cap_minor is not None:
        fee = min(fee, plan.cap_minor)
    assert platform_fee(plan, amount, 0) == max(0, min(fee, amount))


@given(plans(), st.integers(0, 10**7))
def test_zero_decimal_currency_is_the_same_arithmetic(plan, units):
    # 4580 JPY and 45.80 EUR are the same integer to the fee rule: only the label differs.
    fee = platform_fee(plan, units, 0)
    assert format_minor(fee, "JPY") == f"{fee} JPY"
    assert format_minor(fee, "EUR") == f"{fee // 100}.{fee % 100:02d} EUR"


# Refunds.

def test_refund_examples():
    # 79 cent fee on 18.50 EUR; refund 5.00 then 13.50.
    first = refund_fee(79, 1850, 0, 500)       # 79 * 500/1850 = 21.35 -> 21
    second = refund_fee(79, 1850, 500, 1350)   # 79 - 21 = 58
    assert (first, second) == (21, 58)
    # Three equal thirds of a 99 cent charge with a 10 cent fee: 3.33 -> 3, 6.67 -> 7 (so 4), 10 (so 3).
    assert [refund_fee(10, 99, 0, 33), refund_fee(10, 99, 33, 33), refund_fee(10, 99, 66, 33)] == [3, 4, 3]
    assert refund_fee(195, 4580, 0, 4580) == 195   # a full JPY refund gives back the whole fee


def test_refund_beyond_what_is_left_is_refused():
    with pytest.raises(ValueError, match="more than what is left"):
        refund_fee(79, 1850, 1000, 851)
    with pytest.raises(ValueError):
        refund_fee(79, 1850, 1851, 0)
    with pytest.raises(ValueError):
        refund_fee(1851, 1850, 0, 10)
    with pytest.raises(ValueError):
        refund_fee(79, 1850, 0, -1)
    assert refund_fee(79, 1850, 1000, 850) == 79 - fee_given_back(79, 1850, 1000)


@given(st.integers(1, 10**8).flatmap(lambda charge: st.tuples(
    st.just(charge), st.integers(0, charge), partitions(charge))))
def test_any_partition_of_refunds_gives_back_exactly_the_fee(case):
    charge, fee, parts = case
    given_back, refunded = [], 0
    for part in parts:
        given_back.append(refund_fee(fee, charge, refunded, part))
        refunded += part
    assert sum(given_back) == fee
    assert all(0 <= share <= part for share, part in zip(given_back, parts, strict=True))


@given(st.integers(1, 10**8), st.data())
def test_a_partial_refund_gives_back_its_share_within_a_unit(charge, data):
    fee = data.draw(st.integers(0, charge))
    before = data.draw(st.integers(0, charge))
    refund = data.draw(st.integers(0, charge - before))
    assume(refund > 0)
    share = refund_fee(fee, charge, before, refund)
    assert abs(share * charge - fee * refund) <= charge  # off by less than one minor unit
