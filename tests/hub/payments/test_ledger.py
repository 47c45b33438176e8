"""Ledger rules: every builder balances, summaries add up and agree with hub.fees."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.payments.fees import FeePlan, platform_fee, refund_fee
from hub.payments.ledger import (
    PLATFORM_FEES,
    Entry,
    LedgerError,
    Summary,
    charge_entries,
    check_balanced,
    external_payment_entries,
    fee_collection_entries,
    receivable_account,
    refund_entries,
    restaurant_account,
    summarize,
)

RID = "0192f1a2-7c3e-7abc-8def-0123456789ab"
currencies = st.sampled_from(["EUR", "JPY", "KWD", "USD", "KRW", "XOF"])
amounts = st.integers(0, 10**9)


def balance(entries, account, currency=None):
    return sum(e.amount_minor for e in entries if e.account == account and currency in (None, e.currency))


def by_kind(entries, account):
    return {e.kind: e.amount_minor for e in entries if e.account == account}


# Builders, by example.

def test_card_charge_entries():
    entries = charge_entries(RID, "EUR", 1850, 200, 79)
    assert entries == [
        Entry("external:card", -2050, "EUR", "payment"),
        Entry(f"restaurant:{RID}", 1850, "EUR", "sale"),
        Entry(f"restaurant:{RID}", 200, "EUR", "tip"),
        Entry(f"restaurant:{RID}", -79, "EUR", "fee"),
        Entry("platform:fees", 79, "EUR", "fee"),
    ]


def test_zero_amounts_are_left_out():
    entries = charge_entries(RID, "JPY", 4580, 0, 0)
    assert [e.kind for e in entries] == ["payment", "sale"]


def test_refund_entries_reverse_the_money():
    entries = refund_entries(RID, "EUR", 500, 21)
    assert by_kind(entries, restaurant_account(RID)) == {"refund": -500, "fee_refund": 21}
    assert balance(entries, "external:card") == 500
    assert balance(entries, PLATFORM_FEES) == -21


def test_cash_payment_makes_the_fee_a_receivable():
    entries = external_payment_entries(RID, "EUR", 3000, 300, 112, method="cash")
    assert balance(entries, "external:cash") == -3300
    assert balance(entries, restaurant_account(RID)) == 3000 + 300 - 112
    assert balance(entries, receivable_account(RID)) == 112
    assert balance(entries, PLATFORM_FEES) == 0  # nothing reached the platform
    assert {e.kind for e in entries if e.account == receivable_account(RID)} == {"fee_owed"}


def test_collecting_the_receivable_turns_it_into_fee_income():
    owed = external_payment_entries(RID, "EUR", 3000, 0, 112, method="terminal")
    paid = fee_collection_entries(RID, "EUR", 112)
    assert balance(owed + paid, receivable_account(RID)) == 0
    assert balance(owed + paid, PLATFORM_FEES) == 112


@pytest.mark.parametrize("call", [
    lambda: charge_entries(RID, "EUR", 100, 0, 101),          # fee above the charge
    lambda: charge_entries(RID, "EUR", 0, 0, 0),              # nothing charged
    lambda: charge_entries(RID, "EUR", -100, 0, 0),
    lambda: charge_entries(RID, "EUR", 10.5, 0, 0),
    lambda: charge_entries(RID, "EUR", True, 0, 0),
    lambda: charge_entries(RID, "ZZZ", 100, 0, 0),            # unknown currency
    lambda: charge_entries("a:b", "EUR", 100, 0, 0),          # would forge another account name
    lambda: charge_entries("", "EUR", 100, 0, 0),
    lambda: charge_entries(RID, "EUR", 100, 0, 0, source="card:x"),
    lambda: refund_entries(RID, "EUR", 0, 0),
    lambda: refund_entries(RID, "EUR", 100, 101),             # fee back above the refund
    lambda: external_payment_entries(RID, "EUR", 100, 0, 101, "cash"),
    lambda: external_payment_entries(RID, "EUR", 100, 0, 1, ""),
    lambda: fee_collection_entries(RID, "EUR", 0),
])
def test_builders_refuse_what_cannot_be_booked(call):
    with pytest.raises(LedgerError):
        call()


def test_entry_refuses_unknown_kind_and_float_amount():
    with pytest.raises(LedgerError):
        Entry("platform:fees", 1, "EUR", "bonus")
    with pytest.raises(LedgerError):
        Entry("platform:fees", 1.0, "EUR", "fee")


def test_check_balanced():
    check_balanced([])
    check_balanced(charge_entries(RID, "EUR", 1850, 200, 79))
    with pytest.raises(LedgerError, match="EUR"):
        check_balanced([Entry("platform:fees", 1, "EUR", "fee")])
    # Balanced in total but not per currency: still wrong.
    with pytest.raises(LedgerError):
        check_balanced([Entry("platform:fees", 100, "EUR", "fee"), Entry("external:card", -100, "JPY", "payment")])


# Builders, over any amounts.

@given(currencies, amounts, amounts, st.data())
def test_charge_entries_balance(currency, amount, tip, data):
    total = amount + tip
    fee = data.draw(st.integers(0, total))
    if total == 0:
        with pytest.raises(LedgerError):
            charge_entries(RID, currency, amount, tip, fee)
        return
    entries = charge_entries(RID, currency, amount, tip, fee)
    assert sum(e.amount_minor for e in entries) == 0
    check_balanced(entries)
    assert balance(entries, restaurant_account(RID)) == total - fee
    assert balance(entries, PLATFORM_FEES) == fee
    assert all(e.amount_minor != 0 and e.currency == currency for e in entries)


@given(currencies, st.integers(1, 10**9), st.data())
def test_refund_entries_balance(currency, refund, data):
    fee_back = data.draw(st.integers(0, refund))
    entries = refund_entries(RID, currency, refund, fee_back)
    assert sum(e.amount_minor for e in entries) == 0
    assert balance(entries, restaurant_account(RID)) == -refund + fee_back


@given(currencies, amounts, amounts, st.data(), st.sampled_from(["cash", "terminal"]))
def test_external_payment_entries_balance(currency, amount, tip, data, method):
    total = amount + tip
    fee = data.draw(st.integers(0, total))
    if total == 0:
        return
    entries = external_payment_entries(RID, currency, amount, tip, fee, method)
    assert sum(e.amount_minor for e in entries) == 0
    assert balance(entries, receivable_account(RID)) == fee


# Summaries.

def test_summary_of_a_day():
    plan = FeePlan(basis_points=290, fixed_minor=25)
    day = (charge_entries(RID, "EUR", 1850, 200, platform_fee(plan, 1850, 200))      # fee 79
           + charge_entries(RID, "EUR", 1250, 0, platform_fee(plan, 1250, 0))        # fee 61
           + external_payment_entries(RID, "EUR", 3000, 300, platform_fee(plan, 3000, 300), "cash")  # 112
           + refund_entries(RID, "EUR", 500, refund_fee(79, 2050, 0, 500))           # 19.27 -> 19
           + charge_entries(RID, "JPY", 4580, 0, 195))
    summary = summarize(day)
    assert summary["EUR"] == Summary(gross=6100, tips=500, fees=79 + 61 + 112, refunds=500, fee_refunds=19,
                                     net=6100 + 500 - 252 - 500 + 19)
    assert summary["JPY"] == Summary(gross=4580, fees=195, net=4385)
    assert summary["EUR"].net == balance(day, restaurant_account(RID), "EUR")


def test_summary_per_restaurant():
    other = "other-restaurant"
    entries = charge_entries(RID, "EUR", 1000, 0, 10) + charge_entries(other, "EUR", 2000, 0, 20)
    assert summarize(entries)["EUR"].gross == 3000
    assert summarize(entries, RID)["EUR"] == Summary(gross=1000, fees=10, net=990)
    assert summarize(entries, "nobody") == {}


def test_summary_refuses_a_foreign_kind_on_a_restaurant_account():
    with pytest.raises(LedgerError):
        summarize([Entry(restaurant_account(RID), 5, "EUR", "payment")])


charges = st.lists(st.tuples(st.integers(1, 10**7), st.integers(0, 10**5)), min_size=1, max_size=20)
fee_plans = st.builds(FeePlan, basis_points=st.integers(0, 10_000), fixed_minor=st.integers(0, 500),
                      fee_on_tips=st.booleans())


@given(fee_plans, charges, currencies)
def test_summary_fees_equal_the_plan_applied_to_the_charges(plan, bills, currency):
    entries = [e for amount, tip in bills
               for e in charge_entries(RID, currency, amount, tip, platform_fee(plan, amount, tip))]
    summary = summarize(entries)[currency]
    assert summary.fees == sum(platform_fee(plan, amount, tip) for amount, tip in bills)
    assert summary.gross == sum(amount for amount, _ in bills)
    assert summary.tips == sum(tip for _, tip in bills)
    assert summary.net == summary.gross + summary.tips - summary.fees
    assert summary.net == balance(entries, restaurant_account(RID))
    assert summary.fees == balance(entries, PLATFORM_FEES)


@given(fee_plans, st.integers(1, 10**7), st.integers(0, 10**5), st.data())
def test_refunding_a_whole_charge_in_parts_nets_out_to_nothing(plan, amount, tip, data):
    charge = amount + tip
    fee = platform_fee(plan, amount, tip)
    entries = charge_entries(RID, "EUR", amount, tip, fee)
    refunded = 0
    while refunded < charge:
        part = data.draw(st.integers(1, charge - refunded))
        entries += refund_entries(RID, "EUR", part, refund_fee(fee, charge, refunded, part))
        refunded += part
    check_balanced(entries)
    summary = summarize(entries)["EUR"]
    assert summary.refunds == charge and summary.fee_refunds == fee
    assert summary.net == 0
    # Every account is back where it started: the diner has all of it back, the platform kept nothing.
    assert balance(entries, restaurant_account(RID)) == 0
    assert balance(entries, PLATFORM_FEES) == 0
    assert balance(entries, "external:card") == 0
