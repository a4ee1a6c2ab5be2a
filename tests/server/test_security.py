from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/", "/results", "/codelists", "/api/results", "/api/nothing", "/api/docs"])
def test_headers__every_answer__denies_framing_and_sniffing(client, path):
    resp = client.get(path)
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_pages__csp_allows_only_our_own_scripts(client):
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp


def test_request__over_the_size_limit__413_with_error_shape(app, as_role):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    resp = as_role("ministry_officer").post("/api/results", data="x" * 4096, content_type="application/json")
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "too_large"
