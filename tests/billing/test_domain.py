"""Billing's rules, without servers."""
from datetime import date, datetime, timezone

import pytest

from services.billing import domain
from servicekit.errors import DomainError

TODAY = date(2026, 11, 20)


def statement(statement_id, issued_on, balance=10_000, kind="school", period="2026-2027", visible_from=None,
              published_at=datetime(2026, 9, 1, tzinfo=timezone.utc), account="fam-1", student="s-1"):
    return domain.Statement(statement_id, account, student, kind, period, issued_on, published_at, balance,
                            visible_from)


def payment(amount, paid_on, statement_id="st-1", account="fam-1", student="s-1"):
    return domain.Payment(f"p-{amount}", account, statement_id, student, amount, paid_on)


def test_the_latest_statement_of_a_series_supersedes_the_earlier_ones_whatever_their_order():
    first, second = statement("st-1", date(2026, 9, 15)), statement("st-2", date(2026, 10, 15))
    assert domain.current([second, first], TODAY) == {second: [first]}
    assert domain.current([first, second], TODAY) == {second: [first]}


def test_statements_of_other_kinds_children_or_periods_do_not_supersede_each_other():
    school = statement("st-1", date(2026, 9, 15))
    others = [statement("st-2", date(2026, 10, 1), kind="daycare"), statement("st-3", date(2026, 10, 1), student="s-2"),
              statement("st-4", date(2026, 10, 1), period="2025-2026")]
    assert set(domain.current([school, *others], TODAY)) == {school, *others}


def test_a_reissue_the_same_day_is_decided_by_publication_time():
    morning = statement("st-1", TODAY, published_at=datetime(2026, 11, 20, 13, tzinfo=timezone.utc))
    noon = statement("st-2", TODAY, published_at=datetime(2026, 11, 20, 17, tzinfo=timezone.utc))
    assert list(domain.current([noon, morning], TODAY)) == [noon]


def test_a_statement_not_yet_visible_leaves_the_earlier_one_current():
    earlier = statement("st-1", date(2026, 9, 15))
    later = statement("st-2", date(2026, 11, 19), visible_from=date(2026, 11, 21))
    assert domain.current([earlier, later], TODAY) == {earlier: []}
    assert domain.current([earlier, later], date(2026, 11, 21)) == {later: [earlier]}


def test_payments_after_the_issue_date_come_off_the_balance_the_others_are_counted_already():
    issued = statement("st-1", date(2026, 9, 15), balance=12_550)
    paid = [payment(4_000, date(2026, 9, 10)), payment(550, date(2026, 9, 15)), payment(2_000, date(2026, 9, 22))]
    assert domain.balance_cents(issued, paid) == 10_550


def test_a_payment_must_match_its_known_statement():
    known = statement("st-1", date(2026, 9, 15))
    domain.check_payment(payment(100, TODAY), known)
    domain.check_payment(payment(100, TODAY, account="fam-9"), None)  # the statement may come later
    with pytest.raises(DomainError) as wrong_account:
        domain.check_payment(payment(100, TODAY, account="fam-9"), known)
    assert wrong_account.value.code == "payment_account_mismatch"
    with pytest.raises(DomainError) as wrong_student:
        domain.check_payment(payment(100, TODAY, student="s-9"), known)
    assert wrong_student.value.code == "payment_student_mismatch"
