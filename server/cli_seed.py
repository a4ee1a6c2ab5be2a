"""``yuanxian seed ...``: the demo data set that ``make run`` loads into an empty database.

``seed demo`` runs a list of steps in order, each in the command's one transaction; later capabilities add their
own step (sites' demo plots, yields, lists …) to ``DEMO_STEPS`` so that every page has realistic data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.cli import cli_session, main


@dataclass(frozen=True)
class DemoOptions:
    results: int
    seed: int


@dataclass(frozen=True)
class SeedStep:
    name: str
    run: Callable[[Session, DemoOptions], str]  # does its part, returns one line for the report


def _reference(session: Session, _opts: DemoOptions) -> str:
    from catalog.codelists import Code
    from catalog.divisions import Division
    from catalog.reference import load_reference

    have = (session.scalar(select(func.count()).select_from(Code)) or 0,
            session.scalar(select(func.count()).select_from(Division)) or 0)
    if all(have):
        return f"参考数据已存在 / reference data present: {have[0]} codes, {have[1]} divisions"
    counts = load_reference(session)
    return "参考数据已载入 / reference data loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items())


def _results(session: Session, opts: DemoOptions) -> str:
    from catalog.demo import seed_results

    report = seed_results(session, opts.results, opts.seed)
    states = "、".join(f"{k} {v}" for k, v in sorted(report.by_state.items()))
    forms = "、".join(f"{k} {v}" for k, v in sorted(report.by_form.items()))
    return (f"成果 / results: {report.results}（{report.seconds:.1f} s）\n"
            f"  状态 / states: {states}\n  形式 / forms: {forms}")


def _accounts(session: Session, _opts: DemoOptions) -> str:
    from catalog.demo import seed_accounts

    accounts, created = seed_accounts(session)
    return f"演示账号 / demo accounts: {len(accounts)}（新建 / created {created}）"


DEMO_STEPS: list[SeedStep] = [SeedStep("reference", _reference), SeedStep("results", _results),
                              SeedStep("accounts", _accounts)]


def _print_accounts(session: Session) -> None:
    """The demo accounts and their one password, so that whoever ran ``make run`` can sign in."""
    from catalog.account_rules import scope_name
    from catalog.accounts import ROLE_NAMES
    from catalog.demo import DEMO_PASSWORD, seed_accounts

    accounts, _created = seed_accounts(session)
    click.echo(f"演示账号（密码均为 / every password: {DEMO_PASSWORD}）:")
    for a in accounts:
        zh, en = ROLE_NAMES[a.role]
        place = scope_name(session, a.role, a.scope) or "全国 / nationwide"
        click.echo(f"  {a.username:<16} {zh} / {en}  —  {place}")



def _field(session: Session, opts: DemoOptions) -> str:
    from catalog.demo_plots import seed_plots

    report = seed_plots(session, opts.seed)
    flagged = "、".join(f"{k} {v}" for k, v in sorted(report.flagged.items()))
    return f"示范地块 / demo plots: {report.plots}，测产 / yields: {report.yields}（待审核 / flagged: {flagged}）"


DEMO_STEPS.append(SeedStep("field", _field))


def _review(session: Session, opts: DemoOptions) -> str:
    from catalog.demo_review import seed_review
    from catalog.field import LEVELS, REVIEW_STATES

    r = seed_review(session, opts.seed)
    names = {"county": "县级", "city": "市级", "province": "省级", "ministry": "部级",
             "pending": "待审核", "approved": "已审核", "rejected": "已退回"}
    parts = [f"{names[lv]}{names[st]} {r.by_level_state[f'{lv}/{st}']}" for lv in LEVELS
             for st in REVIEW_STATES if r.by_level_state.get(f"{lv}/{st}")]
    return "测产审核 / yield review: " + "、".join(parts)


DEMO_STEPS.append(SeedStep("review", _review))  # after "field": decides its measurements


def _lists(session: Session, opts: DemoOptions) -> str:
    from catalog.demo_lists import seed_lists

    r = seed_lists(session, opts.seed)
    return (f"成果清单 / list issues: 已发布 / published {r.published}（{r.entries} 项 / entries，"
            f"{len(r.by_list)} 个清单 / lists），草稿 / drafts {r.drafts}")


DEMO_STEPS.append(SeedStep("lists", _lists))  # after "results": the issues their publication named


def _needs(session: Session, opts: DemoOptions) -> str:
    from catalog.demo_needs import seed_needs

    report = seed_needs(session, opts.seed)
    states = "、".join(f"{k} {v}" for k, v in sorted(report.by_state.items()))
    return f"需求 / needs: {report.needs}（{states}）；示范田关联成果 / plots showing a result: {report.plots_linked}"


DEMO_STEPS.append(SeedStep("needs", _needs))  # after "field": its plots are the matching's evidence


def _events(session: Session, opts: DemoOptions) -> str:
    from catalog.demo_events import seed_events

    r = seed_events(session, opts.seed)
    if r.skipped:
        return "对接活动已存在 / events present"
    states = "、".join(f"{k} {v}" for k, v in sorted(r.intents.items()))
    return (f"对接活动 / events: {r.events}，展示成果 / showcased {r.showcased}，参加 / sites {r.sites}\n"
            f"  对接意向 / intents: {states}（落地示范田 / landed on plots {r.plots}）")


DEMO_STEPS.append(SeedStep("events", _events))  # after "field": landed intents link its demo plots


def _classify(session: Session, opts: DemoOptions) -> str:
    from catalog.demo_classify import seed_classification
    from server.cli import cli_actor

    r = seed_classification(session, cli_actor().name, opts.seed)
    if r.model_id is None:
        return "分类建议模型 / suggestion model: 尚无已审核成果，未训练 / no reviewed results, not trained"
    return (f"分类建议模型 / suggestion model: {r.examples} 个样本 / examples（{r.seconds:.1f} s）；"
            f"审核决定 / reviewer decisions: {r.decisions} 条成果 / results，"
            f"接受 / accepted {r.accepted}，修改 / changed {r.changed} 个维度 / dimensions")


DEMO_STEPS.append(SeedStep("classify", _classify))  # after "results": trains on the reviewed ones


def _coverage(session: Session, opts: DemoOptions) -> str:
    from catalog.demo_coverage import coverage_counts, seed_coverage

    r = seed_coverage(session, opts.seed)
    if r.skipped:
        plans, reports = coverage_counts(session)
        return f"季别计划已存在 / season plans present: {plans}，面积报告 / area reports {reports}"
    return f"季别计划 / season plans: {r.plans}，推广/辐射面积报告 / extension and radiated area reports: {r.reports}"


DEMO_STEPS.append(SeedStep("coverage", _coverage))  # after "field" and "review": plans for its seasons


@main.group()
def seed() -> None:
    """演示数据 / Demo data."""


@seed.command("demo")
@click.option("--results", "count", default=2000, show_default=True, type=click.IntRange(1, 200_000),
              help="成果条数 / number of results")
@click.option("--seed", "seed_value", default=42, show_default=True, type=int,
              help="随机种子：相同种子生成相同数据 / the same seed gives the same data")
@click.option("--if-empty", is_flag=True, help="已有成果时什么也不做 / do nothing when results exist")
@with_appcontext
def seed_demo(count: int, seed_value: int, if_empty: bool) -> None:
    """生成演示数据（由真实项目题目构造的成果）/ Load the demo data set built from real project titles."""
    from catalog.demo import result_count

    opts = DemoOptions(results=count, seed=seed_value)
    with cli_session() as s, s.begin():
        existing = result_count(s)
        started = time.perf_counter()
        if if_empty and existing:
            click.echo(f"已有 {existing} 条成果，跳过演示数据 / {existing} results exist, demo data skipped")
        else:
            for step in DEMO_STEPS:
                click.echo(f"[{step.name}] {step.run(s, opts)}")
            click.echo(f"演示数据已就绪 / demo data ready ({time.perf_counter() - started:.1f} s)")
        _print_accounts(s)  # also on a database seeded before demo accounts existed
    host = current_app.config.get("SERVER_NAME") or "127.0.0.1:5000"
    click.echo(f"浏览 / browse: http://{host}/  (yuanxian serve)  登录 / sign in: http://{host}/login")
