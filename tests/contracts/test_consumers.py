"""Who consumes which event has one source, the contracts' `consumers`: each service's event
streams are built from it (`contracts.consumed_by`), and each event a service takes in is one its
code handles, so that the AsyncAPI document says what really happens."""
import ast
import importlib
import importlib.util
import pathlib

import pytest

import contracts
from contracts.registry import SERVICES, SOURCES
from servicekit.consumer import EventStream

SERVICES_DIR = pathlib.Path(__file__).resolve().parents[2] / "services"


def streams(service: str) -> dict[str, set[str]]:
    """{source: event types} of the service's ``@event_stream`` entrypoints."""
    module = importlib.import_module(f"services.{service}.service")
    cls = next(c for c in vars(module).values() if isinstance(c, type) and getattr(c, "name", None) == service)
    found = {}
    for method in vars(cls).values():
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, EventStream):
                assert entrypoint.source not in found, f"two streams of {entrypoint.source}"
                found[entrypoint.source] = set(entrypoint.types)
    return found


def code_of(service: str) -> str:
    """The source of the service's package and of the kit modules it imports (the kit applies the
    link and account events for some services)."""
    paths = set((SERVICES_DIR / service).glob("*.py"))
    for path in list(paths):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "servicekit":
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
                paths |= {origin for origin in map(_origin, names) if origin}
    return "".join(path.read_text(encoding="utf-8") for path in paths)


def _origin(name: str) -> pathlib.Path | None:
    """The file of module ``name``; None when ``name`` is not a module (a class, a function)."""
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        return None
    return pathlib.Path(spec.origin) if spec and spec.origin else None


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_takes_in_from_each_source_what_the_contracts_say(service):
    said = {source: set(contracts.consumed_by(service, source)) for source in SOURCES}
    assert streams(service) == {source: types for source, types in said.items() if types}


@pytest.mark.parametrize("service", SERVICES)
def test_each_event_a_service_takes_in_is_one_its_code_handles(service):
    """An event type its code never names is one the service admits and drops: the contracts
    would promise a consumer that does nothing with it (as notices and SchoolRegistered once)."""
    code = code_of(service)
    consumed = {type for type, spec in contracts.EVENTS.items() if service in spec.consumers}
    assert {type for type in consumed if f'"{type}"' not in code} == set()
