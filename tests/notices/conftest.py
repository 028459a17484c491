"""Fixtures of the notices tests."""
import socket

import pytest


@pytest.fixture
def unused_port() -> int:
    """A loopback port where nothing listens (for an SMTP server that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
