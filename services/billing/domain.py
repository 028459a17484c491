"""Billing's rules: which statement is current, what a statement's balance is once the school's
payments are counted, and which payments cannot be true. Pure Python; amounts are integer cents.

- A later statement supersedes an earlier one for the same account, student, kind and period
  (the school reissues a statement after a payment; a family account has one statement per child,
  and school fees, sports programme and daycare are separate statements of one period). "Later"
  is the issue date, then the time the school published it.
- Before its "visible from" date a statement does not exist for the parent: the one it will
  supersede stays current until then.
- A payment shows as soon as the school publishes it (the guides' FAQ). A statement counts the
  payments made up to its issue date in ``paid_cents``; those made after it are taken off its
  balance here, until the school issues an updated statement.
- Unknown students: billing has no school directory, so a statement about a student nobody is
  linked to yet is kept and shown once a parent links. A payment that names a known statement of
  another account or student cannot be true: it is refused and dead-lettered with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from servicekit.schooltime import school_today  # noqa: F401  (the service asks its domain for the date)
from servicekit.errors import DomainError

KINDS = ("school", "sports", "daycare")  # the order the finances tile lists them in


@dataclass(frozen=True)
class Statement:
    statement_id: str
    account_id: str
    student_id: str
    kind: str
    period: str
    issued_on: date
    published_at: datetime
    balance_cents: int
    visible_from: date | None

    @property
    def series(self) -> tuple[str, str, str, str]:
        """The statements that supersede one another."""
        return self.account_id, self.student_id, self.kind, self.period


@dataclass(frozen=True)
class Payment:
    payment_id: str
    account_id: str
    statement_id: str
    student_id: str
    amount_cents: int
    paid_on: date


def current(statements: list[Statement], today: date) -> dict[Statement, list[Statement]]:
    """Each current visible statement → the visible ones it supersedes, newest first."""
    series: dict[tuple, list[Statement]] = {}
    for statement in statements:
        if statement.visible_from is None or statement.visible_from <= today:
            series.setdefault(statement.series, []).append(statement)
    answer = {}
    for members in series.values():
        members.sort(key=lambda s: (s.issued_on, s.published_at, s.statement_id), reverse=True)
        answer[members[0]] = members[1:]
    return answer


def balance_cents(statement: Statement, payments: list[Payment]) -> int:
    """The statement's balance less the payments of its series it does not count yet."""
    return statement.balance_cents - sum(p.amount_cents for p in payments if p.paid_on > statement.issued_on)


def check_payment(payment: Payment, statement: Statement | None) -> None:
    """A payment belongs to its statement's account and student (when the statement is known:
    the payment may arrive first)."""
    if statement is None:
        return
    if payment.account_id != statement.account_id:
        raise DomainError("payment_account_mismatch", field="data.account_id",
                          params={"payment_id": payment.payment_id, "statement_id": statement.statement_id})
    if payment.student_id != statement.student_id:
        raise DomainError("payment_student_mismatch", field="data.student_id",
                          params={"payment_id": payment.payment_id, "statement_id": statement.statement_id})
