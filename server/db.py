"""The app's engine and the request's session: opened on first use, closed (rolled back) at teardown.

Views commit at the edge (``db_session().commit()``); nothing here commits on its own.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from catalog.audit import act_as
from catalog.db import make_engine


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["yx_engine"] = engine
    app.extensions["yx_sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return current_app.extensions["yx_engine"]


def db_session() -> Session:
    """The request's session; it writes as the request's actor (every audited write needs one)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["yx_sessionmaker"]()
        if "actor" in g:
            act_as(g.db_session, g.actor)
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
