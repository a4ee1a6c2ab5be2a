"""The JSON API: flask-smorest blueprints under ``/api``, described at ``/api/openapi.json``.

Layout: ``server/api/<resource>/{routes,schemas}.py``; each package exposes ``blp``.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from server.api.audit.routes import blp as audit_blp
from server.api.auth.routes import blp as auth_blp
from server.api.classify.routes import blp as classify_blp
from server.api.classify.routes import result_blp as result_classification_blp
from server.api.codelists.routes import blp as codelists_blp
from server.api.coverage.routes import blp as coverage_blp
from server.api.devices.routes import blp as devices_blp
from server.api.divisions.routes import blp as divisions_blp
from server.api.events.routes import blp as events_blp
from server.api.fieldkit.routes import blp as fieldkit_blp
from server.api.lists.routes import blp as lists_blp
from server.api.needs.routes import blp as needs_blp
from server.api.results.routes import blp as results_blp
from server.api.review.routes import blp as review_blp
from server.api.sites.routes import blp as sites_blp
from server.api.sync.routes import blp as sync_blp
from server.api.users.routes import blp as users_blp

BLUEPRINTS = [codelists_blp, results_blp, divisions_blp, sites_blp, auth_blp, users_blp, devices_blp, audit_blp,
              sync_blp, events_blp, needs_blp, lists_blp, classify_blp, result_classification_blp]
BLUEPRINTS.append(fieldkit_blp)  # issue 8: the field kit package for `fieldkit update`
BLUEPRINTS.append(review_blp)  # issue 7: approval of yield measurements
BLUEPRINTS.append(coverage_blp)  # issue 7: coverage, targets, gaps, plans, extension reports


def init_app(app: Flask) -> None:
    api = Api(app, spec_kwargs={"info": {"description": "科技计划成果进园入县 平台接口 / yuanxian platform API"}})
    for blp in BLUEPRINTS:
        api.register_blueprint(blp)
    app.extensions["yx_api"] = api
