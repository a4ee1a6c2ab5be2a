"""Web pages: result browser, result page, code lists, API docs. zh-CN by default, English on ``?lang=en``.

Views call the catalog directly (no HTTP to ourselves); templates live in ``server/templates``, CSS and JS in
``server/static``. Pages send a strict Content-Security-Policy: scripts and styles come only from our own files.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response

from server.web import account_pages, coverage_pages, event_pages, lists_pages, needs_pages, review_pages
from server.web.apidocs import apidocs_page
from server.web.browse import results_page
from server.web.classify_form import classification_submit
from server.web.codelists_page import codelists_page
from server.web.result_page import result_page

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")

bp = Blueprint("web", __name__)
bp.add_url_rule("/", "index", results_page)
bp.add_url_rule("/results", "results", results_page)
bp.add_url_rule("/results/<result_id>", "result", result_page)
bp.add_url_rule("/results/<result_id>/classification", "result_classification", classification_submit,
                methods=["POST"])
bp.add_url_rule("/codelists", "codelists", codelists_page)
bp.add_url_rule("/api/docs", "apidocs", apidocs_page)
account_pages.register(bp)
event_pages.register(bp)
lists_pages.register(bp)
needs_pages.register(bp)
review_pages.register(bp)
coverage_pages.register(bp)


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
