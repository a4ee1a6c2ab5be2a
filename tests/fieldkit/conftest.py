"""Field kit tests: kits in ``tmp_path`` talking to the protocol reference server in process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fk_kits import Kit
from fk_protocol import ProtocolServer
from werkzeug.test import Client

from sync.transport import InProcessTransport


@pytest.fixture
def proto() -> ProtocolServer:
    return ProtocolServer()


@pytest.fixture
def make_kit(proto: ProtocolServer, tmp_path: Path) -> Callable[[str], Kit]:
    def make(name: str) -> Kit:
        return Kit.make(name, tmp_path, InProcessTransport(Client(proto), token=proto.enroll(name)))

    return make
