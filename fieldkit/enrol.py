"""Enrolling a device: an agent's username and password, once, online, get the kit its device token.

Used by ``fieldkit login`` and by the local web UI's sync page. The password is sent once and never kept.
"""

from __future__ import annotations

from collections.abc import Callable

from fieldkit.store import Store
from sync.transport import Transport

TransportFactory = Callable[[str, "str | None"], Transport]


def enrol(store: Store, make_transport: TransportFactory, username: str, password: str, device_name: str,
          county: str | None = None) -> str | None:
    """Enrol this kit and keep its token; returns the county it records for (the agent role's, else
    ``county``). Raises ``sync.transport.ServerRefused`` (wrong password, disabled account) or ``Unreachable``."""
    server = store.get_meta("server")
    answer = make_transport(server, None).request(
        "POST", "/api/devices", json={"username": username, "password": password, "name": device_name},
        sync=False).json()
    token = answer["secret"]
    me = make_transport(server, token).request("GET", "/api/auth/me", sync=False).json()
    agent = [r.get("scope") for r in me.get("roles", []) if r.get("role") == "agent"]
    store.set_meta(token=token, username=username, device_id=answer.get("id"),
                   county=county or (agent[0] if agent else None))
    return store.get_meta("county")  # type: ignore[no-any-return]
