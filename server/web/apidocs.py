"""The API docs page: a shell that static/apidocs.js fills from /api/openapi.json (no CDN, no inline script)."""

from __future__ import annotations

import json

from flask import render_template, url_for

from server.i18n import t

# Strings the script shows, handed over in a data attribute so that no inline script is needed.
SCRIPT_MESSAGES = ("apidocs.loading", "apidocs.failed", "apidocs.parameters", "apidocs.request",
                   "apidocs.responses", "apidocs.schemas", "apidocs.required", "apidocs.none", "apidocs.in",
                   "apidocs.name", "apidocs.type", "apidocs.description")


def apidocs_page() -> str:
    """接口文档 / The API described from its OpenAPI document."""
    messages = {key.split(".", 1)[1]: t(key) for key in SCRIPT_MESSAGES}
    return render_template("apidocs.html", spec_url=url_for("api-docs.openapi_json"),
                           messages=json.dumps(messages, ensure_ascii=False))
