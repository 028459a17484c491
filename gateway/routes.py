"""The API's routes, one line each: the path, the service method that answers it, and how the
request becomes its arguments. The HTTP layer (``app``) and the OpenAPI document (``openapi``)
are both read from this table, so they cannot drift apart.

A service method receives, in order: the parent's id (for an authenticated route), the child's
id (for a child-scoped route, after the link check), the other path parameters, then the JSON
body. The query parameters that are given come as keyword arguments. A route with ``fields``
passes those fields of the body as keyword arguments instead (only those: a client cannot slip
in ``parent_id``), plus its ``fixed`` ones, and the parent's id as ``parent_id`` when
``parent_keyword`` (identity's methods take keywords).
"""
from __future__ import annotations

from dataclasses import dataclass

from services.attendance.agenda import MAX_DOCUMENT_BYTES

# Bytes of body a route accepts: a form of a few fields is far below it. A longer body is refused
# unread (413), whether or not the route asks for a token.
MAX_BODY = 64 * 1024
# A justification carries its document as base64 (4 characters for 3 bytes) inside the JSON.
MAX_JUSTIFICATION_BODY = (MAX_DOCUMENT_BYTES // 3 + 1) * 4 + MAX_BODY


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
    fields: tuple[str, ...] = ()  # body fields given as keyword arguments
    fixed: tuple[tuple[str, str], ...] = ()  # keyword arguments the route itself sets
    parent_keyword: bool = False
    parent: bool = True  # the method takes the parent's id (the school directory does not)
    client_address: bool = False  # the caller's address as ``client_address`` (rate limits)
    public: bool = False  # no parent token (account creation and password reset)
    status: int = 200
    document: str | None = None  # answered as the PDF that ``documents.<document>`` makes of the answer
    max_body: int = MAX_BODY
    recent_login: bool = False  # only for a login of the last minutes (gateway.auth.RECENT_LOGIN)


def child(method, path, service, rpc, summary, tag, **kw) -> Route:
    return Route(method, f"/children/<student_id>{path}", service, rpc, summary, tag, child=True, **kw)


ROUTES = (
    # Accounts (identity): codes by email, then a single-use ticket for the next step.
    Route("GET", "/password-rules", "identity", "password_rules", "The password rules, to show beside the field",
          "accounts", public=True),
    *(r for flow, base, tag in (("register", "/accounts", "account creation"), ("reset", "/passwords", "reset"))
      for r in (
          Route("POST", f"{base}/codes", "identity", "request_code", f"Email a verification code ({tag})",
                "accounts", fields=("email", "locale"), fixed=(("flow", flow),), client_address=True, public=True,
                status=202),
          Route("POST", f"{base}/codes/verification", "identity", "verify_code",
                f"Trade the emailed code for a ticket ({tag})", "accounts", fields=("email", "code"),
                fixed=(("flow", flow),), public=True))),
    Route("POST", "/accounts", "identity", "register", "Create the account with the ticket and a password",
          "accounts", fields=("ticket", "password", "password_confirmation", "locale"), public=True, status=201),
    Route("POST", "/passwords", "identity", "reset_password", "Set a new password with the ticket", "accounts",
          fields=("ticket", "password", "password_confirmation"), public=True),
    Route("GET", "/me", "identity", "me", "Who the parent is; whether the school email is proven", "accounts"),
    Route("POST", "/me/email-codes", "identity", "request_code",
          "Email a code to claim the email given to the school (social accounts)", "accounts",
          fields=("email", "locale"), fixed=(("flow", "claim"),), parent_keyword=True, client_address=True,
          status=202),
    Route("POST", "/me/email-codes/verification", "identity", "verify_code", "Trade the claim code for a ticket",
          "accounts", fields=("email", "code"), fixed=(("flow", "claim"),), public=True),
    Route("POST", "/me/email-claims", "identity", "claim_school_email",
          "Claim the school email: the account's own, or one proven by a ticket", "accounts", fields=("ticket",)),
    Route("PUT", "/me/two-factor", "identity", "set_two_factor",
          "Turn two-factor authentication on (set up at the next login) or off", "accounts", fields=("enabled",)),
    Route("GET", "/me/sessions", "identity", "sessions", "The parent's active sessions", "accounts"),
    Route("DELETE", "/me/sessions/<session_id>", "identity", "end_session", "End one session", "accounts",
          params=("session_id",)),
    Route("DELETE", "/me/sessions", "identity", "end_all_sessions",
          "End every session and remove every passkey (the password stays)", "accounts"),
    Route("GET", "/me/passkeys", "identity", "passkeys", "The parent's passkeys: label, created, last used",
          "accounts"),
    Route("DELETE", "/me/passkeys/<passkey_id>", "identity", "remove_passkey", "Remove one passkey", "accounts",
          params=("passkey_id",)),
    Route("POST", "/me/closure", "identity", "close_account",
          "Close the account (confirm with the email; a recent login); every service forgets the parent",
          "accounts", fields=("confirmation",), recent_login=True),
    # Family and links (linking).
    Route("GET", "/organisations", "linking", "organisations",
          "School service centres and private schools, searchable and paginated", "family",
          query=("query", "page", "kind"), parent=False),
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
          "Justify an absence the school recorded", "absences", params=("absence_id",), body=True,
          max_body=MAX_JUSTIFICATION_BODY),
    child("GET", "/agenda", "attendance", "agenda", "Timetable, school days and holidays, detentions", "agenda",
          query=("start", "end")),
    # Results and homework (grades).
    child("GET", "/results", "grades", "results", "Report cards, assignments, ministry exams", "results",
          query=("school_year",)),
    child("GET", "/bulletins/<bulletin_id>", "grades", "bulletin", "One report card", "results",
          params=("bulletin_id",)),
    child("GET", "/bulletins/<bulletin_id>/pdf", "grades", "bulletin", "One report card as a PDF the portal makes",
          "results", params=("bulletin_id",), document="bulletin"),
    child("GET", "/homework", "grades", "homework", "Homework and lessons with due dates", "homework"),
    # Finances (billing).
    child("GET", "/statements", "billing", "statements", "Statements of account and balance", "finances"),
    child("GET", "/tax-receipts", "billing", "tax_receipts", "Tax receipts for daycare", "finances",
          query=("year",)),
    child("GET", "/tax-receipts/<receipt_id>/pdf", "billing", "tax_receipt",
          "One tax receipt (RL-24 or federal) as a PDF the portal makes", "finances", params=("receipt_id",),
          document="tax_receipt"),
    Route("GET", "/family/balance", "billing", "family_balance", "The balance of every child's accounts",
          "finances"),
    # Messages, resources, notifications (notices).
    Route("GET", "/inbox", "notices", "inbox", "The school's messages to the parent", "messages",
          query=("student_id",)),
    Route("POST", "/inbox/<message_id>/read", "notices", "mark_read", "Mark a message read", "messages",
          params=("message_id",)),
    child("GET", "/resources", "notices", "resources", "Links and documents of the school and board",
          "resources"),
    Route("GET", "/preferences", "notices", "preferences", "Notification preferences", "notifications"),
    Route("PUT", "/preferences", "notices", "set_preferences", "Change notification preferences",
          "notifications", body=True),
    Route("GET", "/calendar-feed", "notices", "feed_url_token", "The secret of the private calendar feed",
          "notifications"),
    Route("POST", "/calendar-feed/reset", "notices", "reset_feed_token", "A new secret; the old address stops",
          "notifications"),
    # A mail's one-click unsubscribe (RFC 8058): the signed token in the address is the credential.
    Route("POST", "/notifications/unsubscribe/<token>", "notices", "unsubscribe",
          "Turn off the kind of mail this link came in, for the children it named", "notifications",
          params=("token",), parent=False, public=True),
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

# "Download my data": each service's part of the one JSON file (identity's: the account and its passkeys).
EXPORTERS = {"identity": "export", "linking": "export", "attendance": "export", "grades": "export",
             "billing": "export", "notices": "export"}
