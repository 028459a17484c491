"""The API's routes, one line each: the path, the service method that answers it, and how the
request becomes its arguments. The HTTP layer (``app``) and the OpenAPI document (``openapi``)
are both read from this table, so they cannot drift apart.

A service method receives, in order: the parent's id (for an authenticated route), the child's
id (for a child-scoped route, after the link check), the other path parameters, then the JSON
body; the query parameters that are given come as keyword arguments.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # Werkzeug rule under /api/v1, e.g. /children/<student_id>/absences
    service: str
    rpc: str
    summary: str
    tag: str
    child: bool = False  # has <student_id>, checked against the parent's links
    params: tuple[str, ...] = ()  # other path parameters, in the order the method takes them
    query: tuple[str, ...] = ()  # keyword arguments of the method
    body: bool = False
    public: bool = False  # no parent token (account creation and password reset)
    status: int = 200


def child(method, path, service, rpc, summary, tag, **kw) -> Route:
    return Route(method, f"/children/<student_id>{path}", service, rpc, summary, tag, child=True, **kw)


ROUTES = (
    # Accounts (identity): before a parent has a token.
    Route("POST", "/accounts/codes", "identity", "request_signup_code",
          "Email a verification code to create an account", "accounts", body=True, public=True, status=202),
    Route("POST", "/accounts", "identity", "create_account",
          "Create the account with the emailed code and a password", "accounts", body=True, public=True,
          status=201),
    Route("POST", "/passwords/codes", "identity", "request_reset_code",
          "Email a code to reset a forgotten password", "accounts", body=True, public=True, status=202),
    Route("POST", "/passwords", "identity", "reset_password",
          "Set a new password with the emailed code", "accounts", body=True, public=True),
    Route("POST", "/me/email-claims", "identity", "claim_email",
          "Claim the email given to the school for a social account", "accounts", body=True),
    Route("DELETE", "/me", "identity", "close_account",
          "Close the account; every service forgets the parent", "accounts", status=202),
    # Family and links (linking).
    Route("GET", "/organisations", "linking", "organisations",
          "School service centres and private schools, searchable and paginated", "family",
          query=("query", "page", "kind")),
    Route("GET", "/children", "linking", "children", "The parent's linked children", "family"),
    Route("POST", "/children", "linking", "link_child", "Link a child with the school record's details",
          "family", body=True, status=201),
    child("GET", "/record", "linking", "record", "The child's record, subjects and teachers, transport", "record"),
    child("POST", "/record/corrections", "linking", "request_correction", "Ask the school to correct the record",
          "record", body=True, status=202),
    child("GET", "/record/corrections", "linking", "corrections", "The correction requests and their answers",
          "record"),
    child("GET", "/contact", "linking", "contact", "The school's contact details and principal", "contact"),
    child("GET", "/reenrollment", "linking", "reenrollment", "Re-enrolment for next year, when open",
          "reenrollment"),
    child("POST", "/reenrollment", "linking", "submit_reenrollment", "Confirm or decline next year's enrolment",
          "reenrollment", body=True),
    # Absences and agenda (attendance).
    child("GET", "/absences", "attendance", "absences", "Absences and lateness, those to justify, declarations",
          "absences"),
    child("POST", "/absences/declarations", "attendance", "declare_absence", "Declare an upcoming absence",
          "absences", body=True, status=201),
    child("POST", "/absences/<absence_id>/justification", "attendance", "justify_absence",
          "Justify an absence the school recorded", "absences", params=("absence_id",), body=True),
    child("GET", "/agenda", "attendance", "agenda", "Timetable, school days and holidays, detentions", "agenda"),
    # Results and homework (grades).
    child("GET", "/results", "grades", "results", "Report cards, assignments, ministry exams", "results",
          query=("school_year",)),
    child("GET", "/bulletins/<bulletin_id>", "grades", "bulletin", "One report card", "results",
          params=("bulletin_id",)),
    child("GET", "/homework", "grades", "homework", "Homework and lessons with due dates", "homework"),
    # Finances (billing).
    child("GET", "/statements", "billing", "statements", "Statements of account and balance", "finances"),
    child("GET", "/tax-receipts", "billing", "tax_receipts", "Tax receipts for daycare", "finances"),
    Route("GET", "/family/balance", "billing", "family_balance", "The balance of every child's accounts",
          "finances"),
    # Messages, resources, notifications (notices).
    Route("GET", "/inbox", "notices", "inbox", "The school's messages to the parent", "messages"),
    Route("POST", "/inbox/<message_id>/read", "notices", "mark_read", "Mark a message read", "messages",
          params=("message_id",)),
    child("GET", "/resources", "notices", "resources", "Links and documents of the school and board",
          "resources"),
    Route("GET", "/preferences", "notices", "preferences", "Notification preferences", "notifications"),
    Route("PUT", "/preferences", "notices", "set_preferences", "Change notification preferences",
          "notifications", body=True),
    Route("GET", "/calendar-feed", "notices", "calendar_feed", "The private calendar feed's address",
          "notifications"),
)

# A child's home: tile -> the route that fills it. Messages come first, as in the guides.
TILES = {
    "messages": ("notices", "inbox"),
    "absences": ("attendance", "absences"),
    "results": ("grades", "results"),
    "agenda": ("attendance", "agenda"),
    "homework": ("grades", "homework"),
    "finances": ("billing", "statements"),
    "record": ("linking", "record"),
    "resources": ("notices", "resources"),
    "contact": ("linking", "contact"),
}

# "Download my data": each service's part of the one JSON file.
EXPORTERS = ("identity", "linking", "attendance", "grades", "billing", "notices")
