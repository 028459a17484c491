"""Who may speak for what (contracts.trust), without a broker."""
import copy
import json
import uuid

import pytest

from contracts import parse, trust
from contracts.publish import EXAMPLES


def example(event_type: str, **data):
    body = json.loads((EXAMPLES / f"{event_type}.json").read_text(encoding="utf-8"))
    body = copy.deepcopy(body)
    body["id"] = str(uuid.uuid4())
    body["data"].update(data)
    return parse(body)


def test_each_service_speaks_for_its_own_events_only():
    changed = example("ParentEmailChanged")
    assert trust.refusal("identity", changed) is None
    assert trust.refusal("linking", changed) == "user linking may not speak for identity"
    assert trust.refusal("gateway", changed) == "user gateway may not speak for identity"
    assert trust.refusal(None, changed) == "no user_id: the broker vouches for no sender"
    assert trust.refusal("sis.css-trois-lacs", changed) == "user sis.css-trois-lacs may not speak for identity"


def test_a_school_system_speaks_for_the_students_and_schools_of_its_own_board_only():
    enrolled = example("StudentEnrolled")  # css-trois-lacs.1234567 of css-trois-lacs
    assert trust.refusal("sis.css-trois-lacs", enrolled) is None
    assert trust.refusal("sis.css-trois", enrolled) == (
        "user sis.css-trois may not speak for student_id css-trois-lacs.1234567 of another board")
    assert trust.refusal("linking", enrolled) == "user linking may not speak for sis"
    # Every id counts: a student of the board placed in another board's school is refused.
    moved = example("StudentEnrolled", school_id="css-autre.ecole")
    assert "school_id css-autre.ecole" in trust.refusal("sis.css-trois-lacs", moved)


def test_nested_ids_name_the_board_too():
    registered = example("SchoolRegistered")
    assert trust.refusal("sis.css-trois-lacs", registered) is None
    assert trust.refusal("sis.css-x", registered) == "user sis.css-x may not speak for org.id css-trois-lacs of another board"
    message = example("MessagePublished")
    audience = dict(message.wire_data()["audience"], org_id="css-x", school_id="css-x.ecole")
    assert trust.refusal("sis.css-x", example("MessagePublished", audience=audience)) is None
    assert trust.refusal("sis.css-trois-lacs", example("MessagePublished", audience=audience)) is not None


def test_the_board_of_an_event_is_the_org_of_its_ids():
    assert trust.board_of(example("GuardianAssigned")) == "css-trois-lacs"
    assert trust.board_of(example("ReenrollmentOpened")) == "css-trois-lacs"
    assert trust.board_of(example("StudentEnrolled", school_id="css-autre.ecole")) is None


@pytest.mark.parametrize("user", [*trust.users(), "sis.css-trois-lacs"])
def test_only_its_own_service_and_the_broker_write_an_exchange_of_events(user):
    import re

    allowed = trust.permissions(user)
    for source in ("identity", "linking", "attendance", "sis"):
        exchange = f"{source}.events"
        writes = bool(re.fullmatch(allowed["write"], exchange))
        assert writes == (user == source or (source == "sis" and user.startswith("sis."))), (user, exchange)
    assert bool(re.fullmatch(allowed["write"], "nameko-rpc")) == (not user.startswith("sis."))


@pytest.mark.parametrize("user", trust.users())
def test_a_user_may_declare_only_its_own_queues_and_the_exchanges_it_takes_in_from(user):
    """Configure lets a user delete what it may declare: its own queues and exchange, the RPC
    exchange and the exchanges of the sources it consumes, never another's queue or exchange."""
    import re

    from contracts import consumed_by
    from contracts.registry import SERVICES, SOURCES

    configure = trust.permissions(user)["configure"]
    live = ("sis", "attendance", "linking")  # the gateway's live feed (gateway/live.py)
    for source in {*SOURCES, *SERVICES}:  # every exchange of events
        takes_in = source in live if user == trust.GATEWAY else bool(consumed_by(user, source))
        declares = bool(re.fullmatch(configure, f"{source}.events"))
        assert declares == (takes_in or source == user), (user, source)
    for other in SERVICES:
        if other != user:
            for queue in (f"{other}.sis", f"{other}.dead-letter", f"rpc-{other}", f"rpc.reply-{other}-1"):
                assert not re.fullmatch(configure, queue), (user, queue)
    assert re.fullmatch(configure, "nameko-rpc") and re.fullmatch(configure, f"{user}.dead-letter")
    assert not re.fullmatch(configure, "amq.default") and not re.fullmatch(configure, "unknown")
