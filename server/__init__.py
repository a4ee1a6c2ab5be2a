"""The Flask app: factory, config, API blueprints, web pages, CLI."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from server import config as cfg


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Defaults, then the environment (unless testing), then ``test_config``."""
    instance = (test_config or {}).get("INSTANCE_PATH") or cfg.instance_path()
    app = Flask(__name__, instance_path=os.path.abspath(instance), instance_relative_config=False)
    app.config.from_mapping(cfg.DEFAULTS)
    if test_config is None:
        app.config.from_mapping(cfg.from_environment())
    else:
        app.config.from_mapping(test_config)
    if not app.config.get("DATABASE_URL"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["DATABASE_URL"] = cfg.sqlite_url(app.instance_path)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    from server import api, auth, db, errors, i18n, logs, probes, security, web

    logs.init_app(app)  # first: the request id and the clock start before anything looks at the request
    db.init_app(app)
    auth.init_app(app)
    i18n.init_app(app)
    api.init_app(app)
    web.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    probes.init_app(app)
    hops = int(app.config.get("PROXIES") or 0)
    if hops:  # behind that many trusted proxies: the client's address, scheme and host from X-Forwarded-*
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app
