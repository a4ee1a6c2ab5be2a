"""zh-CN by default, English on request (``?lang=en`` remembered in a cookie)."""

from __future__ import annotations

from flask import Flask, request


def current_lang() -> str:
    lang = request.args.get("lang") or request.cookies.get("lang") or "zh"
    return "en" if lang == "en" else "zh"


def init_app(app: Flask) -> None:
    app.jinja_env.globals["current_lang"] = current_lang
