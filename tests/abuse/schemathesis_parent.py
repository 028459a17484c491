"""Schemathesis hooks (``SCHEMATHESIS_HOOKS``) that make its command line a real parent: a
Keycloak token of the portal realm, fetched again before the realm's five-minute tokens run out,
and the parent's own child wherever a route names a child (foreign children are the
authorization matrix's); every request leaves from ``FUZZ_SOURCE_ADDRESS``, so that the fuzz
spends its own budget of code requests (identity counts them by address), not the other tests'.
Read from ``FUZZ_KEYCLOAK_URL``, ``FUZZ_EMAIL``, ``FUZZ_PASSWORD``, ``FUZZ_CHILD`` and
``FUZZ_SOURCE_ADDRESS``."""
import os

import requests
import schemathesis
from requests.adapters import HTTPAdapter

from tests.identity.browser import Browser


class _SourceAddress(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(os.environ["FUZZ_SOURCE_ADDRESS"], 0), **kwargs)


_session_init = requests.Session.__init__


def _from_own_address(self, *args, **kwargs):
    _session_init(self, *args, **kwargs)
    self.mount("http://", _SourceAddress())


requests.Session.__init__ = _from_own_address


@schemathesis.auth(refresh_interval=200)
class RealParent:
    def get(self, case, ctx):
        browser = Browser(os.environ["FUZZ_KEYCLOAK_URL"])
        return browser.login(os.environ["FUZZ_EMAIL"], os.environ["FUZZ_PASSWORD"])["access_token"]

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def map_case(ctx, case):
    """The parent's child in place of a valid id; an invalid one (too long, not a string) is kept,
    for the server to refuse."""
    value = (case.path_parameters or {}).get("student_id")
    if isinstance(value, str) and 1 <= len(value) <= 64:
        case.path_parameters["student_id"] = os.environ["FUZZ_CHILD"]
    return case


# The codes marshmallow's refusals become (servicekit.errors) and the gateway's own refusals of a
# request's form: a request the document calls valid refused with one of these is a mismatch
# between the document and the schemas. Any other 422 is a domain rule about values no schema
# can say (a date in the past, a code that is not the one mailed, a ticket already used).
FORM_CODES = {"required", "unknown_field", "invalid_date", "invalid_time", "invalid", "invalid_number",
              "invalid_email", "invalid_choice", "invalid_length", "invalid_json", "invalid_request",
              "invalid_page", "invalid_page_size", "code_format", "invalid_code_format", "request_too_large"}


@schemathesis.check
def positive_data_acceptance_of_form(ctx, response, case):
    """schemathesis's ``positive_data_acceptance``, but for domain rules (see FORM_CODES)."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code not in (400, 413, 422):
        return None
    error = response.json()
    if response.status_code == 422 and error.get("code") not in FORM_CODES:
        return None
    raise AssertionError(f"Valid data should have been accepted: {response.status_code} {error.get('code')} "
                         f"(field {error.get('field')})")
