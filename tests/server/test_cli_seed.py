from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.results import Result, ResultEvent
from server.cli import main


def _counts(app) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with Session(app.extensions["yx_engine"]) as s:
        return (s.scalar(select(func.count()).select_from(Result)) or 0,
                s.scalar(select(func.count()).select_from(ResultEvent)) or 0)


def test_seed_demo__if_empty_twice__seeds_once(app) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    first = runner.invoke(main, ["seed", "demo", "--results", "30", "--seed", "5", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert "results: 30" in first.output and "http://" in first.output
    after_first = _counts(app)
    assert after_first[0] == 30 and after_first[1] > 30

    second = runner.invoke(main, ["seed", "demo", "--results", "30", "--seed", "5", "--if-empty"])
    assert second.exit_code == 0, second.output
    assert "跳过" in second.output
    assert _counts(app) == after_first


def test_seed_demo__without_if_empty__adds_more(app) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    assert runner.invoke(main, ["seed", "demo", "--results", "10", "--seed", "1"]).exit_code == 0
    # the same seed again: other ids and registration numbers, so nothing collides
    result = runner.invoke(main, ["seed", "demo", "--results", "10", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert _counts(app)[0] == 20
