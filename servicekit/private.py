"""Words about a failure that carry nobody's data, for logs, dead-letter reasons and RPC errors.

A database error's own message quotes what it refused: PostgreSQL's DETAIL names the row's
values (``Key (email)=(...) already exists``, ``Failing row contains (...)``), a failed cast
its input, and SQLAlchemy appends the bound parameters unless the engine hides them (every
engine here does: ``hide_parameters``). So a database error is told by its kind and place only:
its classes, SQLSTATE, table, column and constraint, which are names of the schema, never values.
"""
from __future__ import annotations

import traceback

import psycopg
from sqlalchemy.exc import StatementError


class DatabaseFault(Exception):
    """A database error, as told to an RPC caller: its kind and place, without its message."""


def is_database_error(exc: BaseException) -> bool:
    return isinstance(exc, (StatementError, psycopg.Error))


def describe(exc: BaseException) -> str:
    """``Class: message`` for any error, but a database error's message is replaced by its kind
    and place."""
    if not is_database_error(exc):
        return f"{type(exc).__name__}: {exc}"
    driver = exc.orig if isinstance(exc, StatementError) else exc
    kind = type(exc).__name__ if driver is exc or driver is None else f"{type(exc).__name__} ({type(driver).__name__})"
    diag = getattr(driver, "diag", None)
    where = [f"{name} {value}" for name, value in (
        ("SQLSTATE", getattr(driver, "sqlstate", None)),
        ("table", getattr(diag, "table_name", None)), ("column", getattr(diag, "column_name", None)),
        ("constraint", getattr(diag, "constraint_name", None))) if value]
    return f"{kind}: {', '.join(where) or 'message withheld'}"


def log_message(record) -> str:
    """A log record's message, a database error among its values told by ``describe`` (nameko
    logs a worker's failure as ``"error handling worker %s: %s", worker, exc``)."""
    if isinstance(record.args, tuple) and any(is_database_error(arg) for arg in record.args):
        return str(record.msg) % tuple(describe(arg) if is_database_error(arg) else arg for arg in record.args)
    return record.getMessage()


def format_exception(exc_info) -> str:
    """A traceback as ``traceback`` prints it, the messages of its database errors (the error
    and those it was caused by or raised during) replaced by ``describe``."""
    shown = traceback.TracebackException(*exc_info)
    _redact(shown, exc_info[1], set())
    return "".join(shown.format()).rstrip("\n")


def _redact(shown: traceback.TracebackException | None, exc: BaseException | None, seen: set) -> None:
    if shown is None or exc is None or id(exc) in seen:
        return
    seen.add(id(exc))
    if is_database_error(exc):
        shown._str = describe(exc).partition(": ")[2]  # the class name is printed beside it
    _redact(shown.__cause__, exc.__cause__, seen)
    _redact(shown.__context__, exc.__context__, seen)
