"""``yuanxian classify ...``: train the suggestion model, measure it, ask it about one text."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext
from rich.console import Console
from rich.markup import escape

from catalog.classify import compose_text, suggest, train_model
from catalog.classify_eval import Evaluation, TitleOutcome, TitleScore, evaluate
from catalog.classify_model import DIMENSIONS
from catalog.classify_titles import PROJECTS_FILE, read_titles
from catalog.errors import CatalogError, ValidationFailed
from server.cli import cli_actor, cli_session, main, print_field_errors

DIMENSION_NAMES = {"tech_field": "技术领域", "industry_type": "服务产业类型", "scenario": "产业应用场景",
                   "crop": "作物", "land_scenario": "耕地场景"}


@main.group()
def classify() -> None:
    """分类建议：训练、评估、试用 / Classification suggestions: train, evaluate, try."""


@classify.command("train")
@with_appcontext
def classify_train() -> None:
    """用已审核成果、审核决定和真实项目题目训练模型，存入数据库 / Train the model and store it."""
    with cli_session() as s, s.begin():
        try:
            row = train_model(s, cli_actor().name)
        except CatalogError as exc:
            raise click.ClickException(f"{exc.zh} / {exc.en}") from None
        m = row.metrics
        click.echo(f"模型已训练 / model trained: {row.id}  {row.trained_at:%Y-%m-%d %H:%M:%S} UTC")
        click.echo(f"  样本 / examples: {row.examples}（成果 / results {m['results']}，其中审核决定 / with decisions "
                   f"{m['decisions']}，项目题目 / titles {m['titles']}）")
        click.echo(f"  特征 / n-grams: {m['vocabulary']}，大小 / size: {m['bytes'] / 1e6:.1f} MB，"
                   f"用时 / took {m['seconds']} s")
        click.echo("  代码数 / codes learned: " + "、".join(f"{d} {n}" for d, n in m["codes"].items()))


@classify.command("evaluate")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20),
              help="按项目题目分组的折数 / folds, grouped by project title")
@click.option("--titles", "titles_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="另一份题目 CSV（title、special_project 列），用不含这些题目的模型评分 / "
                   "a CSV of titles with their key special project, scored by a model not trained on them")
@with_appcontext
def classify_evaluate(folds: int, titles_file: Path | None) -> None:
    """留出评估：各维度 top-1/top-3 准确率，真实项目题目的技术领域准确率 / Held-out accuracy."""
    console = Console(highlight=False)
    titles = None
    if titles_file is not None:
        try:
            titles = read_titles(titles_file.read_bytes(), titles_file.name)
        except ValidationFailed as exc:
            print_field_errors(console, exc.errors)
            raise SystemExit(1) from None
    with cli_session() as s:
        try:
            report = evaluate(s, folds=folds, titles=titles, titles_label=str(titles_file or ""))
        except CatalogError as exc:
            raise click.ClickException(f"{exc.zh} / {exc.en}") from None
        s.rollback()
    print_evaluation(report)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "   –  "


def print_evaluation(report: Evaluation) -> None:
    click.echo(f"分类建议评估 / evaluation of the suggestions (rules + model): {report.folds} folds grouped by project "
               f"title — {report.results} labelled results, {report.titles_trained} labelled titles")
    click.echo("留出成果 / held-out results:")
    click.echo(f"  {'dimension':<14} {'n':>6}  {'top-1':>6}  {'top-3':>6}")
    for dim in DIMENSIONS:
        t = report.dimensions[dim]
        click.echo(f"  {dim:<14} {t.n:>6}  {_pct(t.top1, t.n)}  {_pct(t.top3, t.n)}   {DIMENSION_NAMES[dim]}")
    click.echo("  (tech_field: the primary field; others: a suggested code among the result's codes)")
    _print_titles(f"真实项目题目 / real project titles: {PROJECTS_FILE.name}, cross-validated in the same folds",
                  report.shipped)
    if report.file is not None:
        _print_titles(f"题目文件 / titles of {report.file.label}: model trained without them or their results",
                      report.file)


def _print_titles(heading: str, score: TitleScore) -> None:
    n = score.n
    click.echo(heading)
    click.echo(f"  技术领域 top-1 / tech_field top-1 (primary field): {_pct(score.top1(score.outcomes), n)} "
               f"({score.top1(score.outcomes)}/{n} titles, not trained on)")
    click.echo(f"    any mapped field {_pct(score.top1_any, n)}, top-3 primary {_pct(score.top3, n)}; "
               f"rules alone {_pct(score.rules_top1, n)}, model alone {_pct(score.model_top1, n)}; "
               f"title + lead institution {_pct(score.top1(score.with_institution), n)}")
    misses = score.misses
    click.echo(f"  未答对的题目 / titles that failed ({len(misses)}): title · special project · "
               "primary field → suggested (confidence)")
    for o in misses:
        click.echo(f"    {o.row.title} · {o.row.special_project} · {o.gold} → {_got(o)}")


def _got(o: TitleOutcome) -> str:
    return ", ".join(f"{r.code} {r.confidence:.2f}" for r in o.got) or "–"


@classify.command("suggest")
@click.argument("text")
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 20),
              help="每个维度的建议数 / suggestions per dimension")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@with_appcontext
def classify_suggest(text: str, limit: int, as_json: bool) -> None:
    """一段文字（名称、简介、关键词、单位）的分类建议 / Ranked suggestions for one text."""
    if not text.strip():
        raise click.BadParameter("文字为空 / the text is empty", param_hint="TEXT")
    with cli_session() as s:
        found = suggest(s, compose_text(text.strip()), limit)
        s.rollback()
    if found.model is None:
        click.echo("尚无训练好的模型，仅按关键词规则建议（yuanxian classify train）/ no model stored yet: "
                   "suggestions from the keyword rules only", err=True)
    if as_json:
        click.echo(json.dumps(found.as_dict(), ensure_ascii=False, indent=2))
        return
    console = Console(highlight=False)
    for dim in DIMENSIONS:
        console.print(f"[bold]{DIMENSION_NAMES[dim]} / {dim}[/bold]")
        for sug in found.by_dimension[dim]:
            words = "、".join(sug.words)
            console.print(f"  {sug.code:<14} {sug.confidence:.2f}  {sug.source:<5}  {escape(sug.name_zh)} / "
                          f"{escape(sug.name_en)}  [dim]{escape(words)}[/dim]")
        if not found.by_dimension[dim]:
            console.print("  [dim]（无 / none）[/dim]")
