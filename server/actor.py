"""Who is acting on this request, for the record of who did what."""

from __future__ import annotations

from flask import request


def current_actor() -> str:
    # Until accounts exist every request is anonymous; keep where it came from.
    return f"anonymous@{request.remote_addr or 'local'}"
