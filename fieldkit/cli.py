"""``fieldkit``: the county agent's offline command line. Messages are zh-CN, with English after a slash.

Everything but ``login`` and ``sync`` works offline against the local store in ``FIELDKIT_HOME``. Tests pass a
transport factory as ``obj={"transport": factory}`` to run the commands against the app in process.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.field import DEMO_TYPES, LEVELS, METHODS, SOURCE_CRS, DemoPlot, YieldMeasurement
from fieldkit import codec, records, settings, update
from fieldkit.enrol import TransportFactory, enrol
from fieldkit.store import Listing, Store
from gis import formats
from gis.area import m2_to_mu
from sync.client import SyncClient
from sync.transport import HttpTransport, ServerRefused, SyncError, Transport, Unreachable

console = Console(highlight=False)


def _http(base_url: str, token: str | None) -> Transport:
    return HttpTransport(base_url, token=token)


def _update_hint(exc: ServerRefused) -> None:
    """A server that no longer speaks this kit's schema: say so plainly, and how to update."""
    if exc.code == "update_required":
        raise click.ClickException(
            "外业工具版本过旧，服务器已不再支持。请联网运行 fieldkit update（从平台下载并安装新版本），然后再次运行 "
            "fieldkit sync；未发送的记录都保留在本机。\n"
            "This field kit is too old for the server. Run fieldkit update (it downloads the new version from the "
            "platform and installs it), then fieldkit sync again; unsent records stay on this device.\n"
            f"服务器 / server: {exc.message_zh} / {exc.message_en}")


class Kit:
    """The command line's view of one field kit: its folder, store and how it reaches the server."""

    def __init__(self, home: Path, transport: TransportFactory) -> None:
        self.home, self.make_transport = home, transport
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            if not settings.db_path(self.home).exists():
                raise click.ClickException("尚未初始化，请先运行 fieldkit init --server URL / "
                                           "not set up: run fieldkit init --server URL first")
            self._store = Store(settings.db_path(self.home))
        return self._store

    def transport(self, *, auth: bool = True) -> Transport:
        server = self.store.get_meta("server")
        token = self.store.get_meta("token")
        if auth and not token:
            raise click.ClickException("尚未登记本设备，请先运行 fieldkit login / "
                                       "device not enrolled: run fieldkit login")
        return self.make_transport(server, token if auth else None)

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """One local transaction; refused input becomes a clear message and nothing is written."""
        try:
            with self.store.session() as s:
                yield s
        except records.RecordRefused as exc:
            raise click.ClickException("输入有误，未保存 / not saved, the input is wrong:\n  "
                                       + "\n  ".join(exc.lines())) from None
        except records.NoSuchRecord as exc:
            raise click.ClickException(f"找不到记录 / no such record: {exc.record_id}") from None

    def resolve(self, type_: str, prefix: str) -> str:
        """A record id from its first characters (UUIDs are long to type in a field)."""
        model = codec.model_of(type_)
        with self.store.session() as s:
            ids = list(s.scalars(select(model.id).where(model.id.startswith(prefix))))
        if len(ids) != 1:
            what = "找不到 / not found" if not ids else "不唯一，请多输入几位 / ambiguous, type more of it"
            raise click.ClickException(f"记录编号 {prefix} {what}")
        return str(ids[0])


pass_kit = click.make_pass_decorator(Kit)


@click.group()
@click.option("--home", type=click.Path(path_type=Path), default=None,
              help="外业工具数据目录（默认 FIELDKIT_HOME 或 ~/.yuanxian-fieldkit）/ data folder")
@click.pass_context
def main(ctx: click.Context, home: Path | None) -> None:
    """外业工具：离线记录示范地块、测产与照片，联网时同步 / the field kit: record offline, sync when online."""
    obj = ctx.obj if isinstance(ctx.obj, dict) else {}
    ctx.obj = Kit(home or settings.home(), obj.get("transport", _http))


@main.command()
@click.option("--server", required=True, help="平台地址 / server URL, e.g. https://yuanxian.example.cn")
@pass_kit
def init(kit: Kit, server: str) -> None:
    """初始化本机数据目录 / set up the local store."""
    kit.home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.db_path(kit.home))
    store.set_meta(server=server.rstrip("/"))
    kit._store = store
    click.echo(f"已初始化 / ready: {kit.home}（服务器 / server {server}）")


@main.command()
@click.option("--username", prompt="用户名 / username")
@click.option("--password", prompt="密码 / password", hide_input=True)
@click.option("--device-name", default="外业工具 / field kit", show_default=True)
@click.option("--county", default=None, help="县级区划代码（服务器未给出时）/ county code if the server gives none")
@pass_kit
def login(kit: Kit, username: str, password: str, device_name: str, county: str | None) -> None:
    """用推广员账号登记本设备 / enrol this device with an agent's account."""
    try:
        enrolled = enrol(kit.store, kit.make_transport, username, password, device_name, county)
    except ServerRefused as exc:
        _update_hint(exc)
        raise click.ClickException(f"登记失败 / enrolment refused: {exc.message_zh} / {exc.message_en}") from None
    except Unreachable:
        raise click.ClickException("无法连接服务器，请联网后重试 / cannot reach the server; try again online") from None
    click.echo(f"设备已登记 / device enrolled: {username}（县 / county {enrolled or '—'}）")


# --- plots -----------------------------------------------------------------------------------------------------

def _boundary(gpx: Path | None, kml: Path | None, geojson: Path | None, csv: Path | None, coords: str | None,
              crs: str) -> Any:
    given = [(n, p) for n, p in (("gpx", gpx), ("kml", kml), ("geojson", geojson), ("csv", csv)) if p]
    if len(given) + (coords is not None) > 1:
        raise click.UsageError("边界只能来自一个来源 / give the boundary one way only")
    try:
        if coords is not None:
            pts = [tuple(float(v) for v in p.split(",")) for p in coords.replace("；", ";").split(";") if p.strip()]
            if any(len(p) != 2 for p in pts):
                raise ValueError("each point is lon,lat")
            feats = formats.read_geojson(json.dumps({"type": "Polygon", "coordinates": [[*pts, pts[0]]]}), crs)
        elif given:
            fmt, path = given[0]
            reader = {"gpx": formats.read_gpx, "kml": formats.read_kml, "geojson": formats.read_geojson,
                      "csv": formats.read_csv_vertices}[fmt]
            feats = reader(path.read_bytes(), crs)
        else:
            return None
    except (ValueError, formats.FormatError) as exc:
        raise click.ClickException(f"无法读取边界 / cannot read the boundary: {exc}") from None
    if len(feats) != 1:
        raise click.ClickException(f"文件中有 {len(feats)} 个边界，需要恰好一个 / "
                                   f"the file holds {len(feats)} boundaries, one is needed")
    return feats[0].geometry


def boundary_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed([
        click.option("--gpx", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option("--kml", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option("--geojson", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option("--csv", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option("--coords", help='坐标 / vertices "lon,lat;lon,lat;..."'),
        click.option("--crs", type=click.Choice(SOURCE_CRS), default="wgs84", show_default=True,
                     help="坐标系 / the coordinates' CRS (高德 gcj02, 百度 bd09)"),
    ]):
        f = opt(f)
    return f


PLOT_OPTIONS = (("name", "名称 / name"), ("crop", "作物 / crop"), ("season", "季节 / season, e.g. 2026-autumn_grain"),
                ("variety", "品种 / variety"), ("farmer_name", "农户 / farmer"),
                ("cooperative", "合作社 / cooperative"), ("result_id", "示范成果 / result id"),
                ("notes", "备注 / notes"))


def plot_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for name, text in reversed(PLOT_OPTIONS):
        f = click.option(f"--{name.replace('_', '-')}", name, default=None, help=text)(f)
    return click.option("--demo-type", type=click.Choice(DEMO_TYPES), default=None,
                        help="示范类型 / demo type")(f)


@main.group()
def plot() -> None:
    """示范地块 / demo plots."""


@plot.command("add")
@plot_options
@boundary_options
@pass_kit
def plot_add(kit: Kit, /, gpx: Path | None, kml: Path | None, geojson: Path | None, csv: Path | None,
             coords: str | None, crs: str, **fields: Any) -> None:
    """新建地块 / add a plot."""
    values = {k: v for k, v in fields.items() if v is not None}
    values.update(boundary=_boundary(gpx, kml, geojson, csv, coords, crs), source_crs=crs,
                  county_code=kit.store.get_meta("county"))
    with kit.writing() as s:
        p = records.create(s, "plot", values, author=kit.store.get_meta("username"))
        area = f"{m2_to_mu(p.area_m2):.2f} 亩 / mu" if isinstance(p, DemoPlot) and p.area_m2 else "—"
        click.echo(f"已保存地块 / plot saved: {p.id}  面积 / area {area}")


@plot.command("edit")
@click.argument("plot_id")
@plot_options
@boundary_options
@pass_kit
def plot_edit(kit: Kit, /, plot_id: str, gpx: Path | None, kml: Path | None, geojson: Path | None,
              csv: Path | None, coords: str | None, crs: str, **fields: Any) -> None:
    """修改地块 / edit a plot."""
    values = {k: v for k, v in fields.items() if v is not None}
    boundary = _boundary(gpx, kml, geojson, csv, coords, crs)
    if boundary is not None:
        values.update(boundary=boundary, source_crs=crs)
    rid = kit.resolve("plot", plot_id)
    with kit.writing() as s:
        records.edit(s, "plot", rid, values, author=kit.store.get_meta("username"))
    click.echo(f"已修改 / saved: {rid}")


@plot.command("list")
@pass_kit
def plot_list(kit: Kit) -> None:
    """列出地块 / list plots."""
    table = Table("编号 / id", "名称 / name", "作物 / crop", "季节 / season", "面积(亩) / mu")
    plots = [p for p in kit.store.records("plot") if isinstance(p, DemoPlot)]
    for p in sorted(plots, key=lambda p: (p.season, p.name)):
        table.add_row(p.id[:8], p.name, p.crop, p.season, f"{m2_to_mu(p.area_m2):.2f}" if p.area_m2 else "—")
    console.print(table)
    click.echo(f"共 {len(plots)} 块 / {len(plots)} plots")


@plot.command("show")
@click.argument("plot_id")
@pass_kit
def plot_show(kit: Kit, plot_id: str) -> None:
    """查看地块 / show a plot."""
    rid = kit.resolve("plot", plot_id)
    with kit.writing() as s:
        p = records.get(s, "plot", rid)
        assert isinstance(p, DemoPlot)
        for k, v in codec.record_fields("plot", p).items():
            if k != "boundary" and v not in (None, ""):
                click.echo(f"{k}: {v}")
        if p.area_m2:
            click.echo(f"面积 / area: {m2_to_mu(p.area_m2):.2f} 亩 / mu ({p.area_m2:.0f} m²)")
        ys = s.scalars(select(YieldMeasurement).where(YieldMeasurement.plot_id == rid,
                                                      YieldMeasurement.deleted.is_(False))).all()
        click.echo(f"测产 / yields: {len(ys)}")


@plot.command("delete")
@click.argument("plot_id")
@pass_kit
def plot_delete(kit: Kit, plot_id: str) -> None:
    """删除地块 / delete a plot."""
    rid = kit.resolve("plot", plot_id)
    with kit.writing() as s:
        records.delete(s, "plot", rid)
    click.echo(f"已删除 / deleted: {rid}")


# --- yields, photos --------------------------------------------------------------------------------------------

def _sample(text: str) -> dict[str, float]:
    try:
        pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
        return {k.strip(): float(v) for k, v in pairs}
    except ValueError:
        raise click.BadParameter(f"样点格式应为 key=value,... / a sample is key=value,...: {text}") from None


@main.group("yield")
def yield_() -> None:
    """测产 / yield measurements."""


@yield_.command("add")
@click.option("--plot", "plot_id", required=True, help="地块编号 / plot id")
@click.option("--method", type=click.Choice(METHODS), required=True, help="实收 harvest / 理论 theoretical")
@click.option("--level", type=click.Choice(LEVELS), default="county", show_default=True)
@click.option("--sample", "samples", multiple=True, required=True,
              help="样点 / a sample point: area_mu=0.1,fresh_kg=80,moisture=0.2,impurity=0.01")
@click.option("--crop", default=None, help="作物（含类型，如 rice_indica）/ crop with its type")
@click.option("--baseline", type=float, default=None, help="对照产量 kg/亩 / baseline kg per mu")
@click.option("--baseline-type", type=click.Choice(["control_plot", "check_variety", "county_average"]))
@click.option("--date", "measured_on", default=None, help="测产日期 / date, YYYY-MM-DD")
@click.option("--verifies", "verifies_id", default=None,
              help="市、省、部级测产所核验的下一级测产编号（不填则由服务器取本地块的下一级测产）/ the measurement "
                   "of the level below that this one verifies (default: the plot's, found by the server)")
@pass_kit
def yield_add(kit: Kit, plot_id: str, method: str, level: str, samples: tuple[str, ...], crop: str | None,
              baseline: float | None, baseline_type: str | None, measured_on: str | None,
              verifies_id: str | None) -> None:
    """记录一次测产（--level 注明县级自测、市级初测、省级复测或部级抽测）/ record a yield measurement."""
    values: dict[str, Any] = {"plot_id": kit.resolve("plot", plot_id), "method": method, "level": level,
                              "samples": [_sample(t) for t in samples], "baseline_kg_per_mu": baseline,
                              "baseline_type": baseline_type, "measured_on": measured_on,
                              "verifies_id": kit.resolve("yield", verifies_id) if verifies_id else None}
    if crop:
        values["crop"] = crop
    with kit.writing() as s:
        y = records.create(s, "yield", values, author=kit.store.get_meta("username"))
    click.echo(f"已保存测产 / yield saved: {y.id}")


@yield_.command("edit")
@click.argument("yield_id")
@click.option("--sample", "samples", multiple=True, help="样点（给出则替换全部样点）/ sample points (replace all)")
@click.option("--baseline", type=float, default=None, help="对照产量 kg/亩 / baseline kg per mu")
@click.option("--date", "measured_on", default=None, help="测产日期 / date, YYYY-MM-DD")
@click.option("--panel", default=None, help="测产专家组，用顿号或逗号分隔 / panel members, comma separated")
@click.option("--notes", default=None, help="备注 / notes")
@pass_kit
def yield_edit(kit: Kit, yield_id: str, samples: tuple[str, ...], baseline: float | None, measured_on: str | None,
               panel: str | None, notes: str | None) -> None:
    """修改测产（被退回的改后重新待审核；已审核的锁定）/ edit a measurement (a rejected one goes back to pending)."""
    rid = kit.resolve("yield", yield_id)
    changes: dict[str, Any] = {k: v for k, v in (("baseline_kg_per_mu", baseline), ("measured_on", measured_on),
                                                 ("notes", notes)) if v is not None}
    if samples:
        changes["samples"] = [_sample(t) for t in samples]
    if panel is not None:
        changes["panel"] = [p.strip() for p in panel.replace("、", ",").replace("，", ",").split(",") if p.strip()]
    with kit.writing() as s:
        y = records.edit(s, "yield", rid, changes, author=kit.store.get_meta("username"))
        state = y.review_state
    click.echo(f"已修改测产 / yield edited: {rid}（{REVIEW_NAMES.get(state or 'pending', state)}）")


@yield_.command("list")
@click.option("--plot", "plot_id", default=None)
@pass_kit
def yield_list(kit: Kit, plot_id: str | None) -> None:
    """列出测产 / list yield measurements."""
    rid = kit.resolve("plot", plot_id) if plot_id else None
    table = Table("编号 / id", "地块 / plot", "级别 / level", "方法 / method", "样点 / samples", "kg/亩",
                  "审核 / review")
    rows = [y for y in kit.store.records("yield") if isinstance(y, YieldMeasurement)
            and (rid is None or y.plot_id == rid)]
    for y in rows:
        table.add_row(y.id[:8], y.plot_id[:8], y.level, y.method, str(len(y.samples)),
                      f"{y.yield_kg_per_mu:.1f}" if y.yield_kg_per_mu else "—", review_text(y))
    console.print(table)
    click.echo(f"共 {len(rows)} 条 / {len(rows)} measurements")
    states = {st: sum(1 for y in rows if (y.review_state or "pending") == st) for st in REVIEW_NAMES}
    click.echo("审核 / review: " + "，".join(f"{REVIEW_NAMES[st]} {n}" for st, n in states.items() if n))
    for y in rows:
        if y.review_state == "rejected":  # the officer's comment in full (the table may cut it)
            click.echo(f"已退回 / rejected {y.id[:8]}: {y.review_comment or ''}（请修改后同步 / edit it and sync）")


REVIEW_NAMES = {"pending": "待审核 / pending", "approved": "已审核（锁定）/ approved (locked)",
                "rejected": "已退回 / rejected"}


def review_text(y: YieldMeasurement) -> str:
    """A measurement's review as the server last said it (catalog.review), with the rejection's comment."""
    text = REVIEW_NAMES.get(y.review_state or "pending", y.review_state or "")
    if y.review_state == "rejected" and y.review_comment:
        text += f"：{y.review_comment}"
    return text


@main.group()
def photo() -> None:
    """照片 / photos."""


@photo.command("add")
@click.option("--plot", "plot_id", required=True)
@click.option("--caption", default=None)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_kit
def photo_add(kit: Kit, plot_id: str, caption: str | None, file: Path) -> None:
    """添加地块照片（联网同步时上传）/ add a photo (uploaded at the next sync)."""
    rid = kit.resolve("plot", plot_id)
    with kit.writing() as s:
        p = records.add_photo(s, settings.files_dir(kit.home), rid, file, caption=caption,
                              author=kit.store.get_meta("username"))
    click.echo(f"已保存照片 / photo saved: {p.id}")


# --- listings, sync, status ------------------------------------------------------------------------------------

@main.group()
def results() -> None:
    """成果清单（离线）/ result listings, offline."""


@results.command("search")
@click.argument("words", nargs=-1, required=True)
@click.option("--limit", default=20, show_default=True)
@pass_kit
def results_search(kit: Kit, words: tuple[str, ...], limit: int) -> None:
    """在已下载的成果中查找 / search the pulled results."""
    with kit.store.session() as s:
        q = select(Listing).where(Listing.type == "result")
        for w in words:
            q = q.where(Listing.text.contains(w.lower(), autoescape=True))
        found = list(s.scalars(q.order_by(Listing.record_id).limit(limit)))
    for row in found:
        r = row.record
        click.echo(f"{row.record_id[:8]}  {r.get('name', '')}  {r.get('institutions') or ''}")
    click.echo(f"找到 {len(found)} 项 / {len(found)} found")


@main.command("sync")
@pass_kit
def sync_cmd(kit: Kit) -> None:
    """与服务器同步（可随时中断，下次继续）/ sync with the server; resumes after any interruption."""
    transport = kit.transport()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), DownloadColumn(),
                  console=console, transient=False) as bar:
        tasks: dict[str, TaskID] = {}
        labels = {"bytes": "上传文件 / files", "push": "发送记录 / sending", "pull": "接收记录 / receiving"}

        def progress(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        try:
            report = SyncClient(transport, kit.store, progress=progress).sync()
        except Unreachable:
            raise click.ClickException("网络中断，进度已保存，联网后再次运行 fieldkit sync 即可继续 / "
                                       "connection lost; progress is kept, run fieldkit sync again") from None
        except ServerRefused as exc:
            _update_hint(exc)
            raise click.ClickException(f"服务器拒绝 / refused ({exc.status} {exc.code}): "
                                       f"{exc.message_zh} / {exc.message_en}") from None
        except SyncError as exc:
            raise click.ClickException(str(exc)) from None
    answers = ", ".join(f"{k} {v}" for k, v in sorted(report.answers.items())) or "—"
    click.echo(f"同步完成 / synced: 发送 / sent {report.pushed} ({answers}), 接收 / received {report.pulled}, "
               f"文件 / files {report.files} ({report.bytes_uploaded} B)"
               + (f", 重新发送 / re-sent {report.requeued}" if report.requeued else ""))
    conflicts = len(kit.store.conflicts())
    if conflicts:
        click.echo(f"有 {conflicts} 项冲突或被拒，请运行 fieldkit conflicts / {conflicts} conflicts or refusals")


@main.command("update")
@click.option("--check", is_flag=True, help="只查看是否有新版本 / only report whether a new version is offered")
@click.option("--force", is_flag=True, help="版本相同也重新安装 / reinstall even the same version")
@click.option("--target", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="安装到此目录而非当前 Python / install into this folder instead of this Python")
@pass_kit
def update_cmd(kit: Kit, check: bool, force: bool, target: Path | None) -> None:
    """从平台下载并安装新版外业工具（不需要访问其他网站）/ update the kit from the platform (nothing else is needed)."""
    transport = kit.transport(auth=False)
    try:
        if check:
            old, found = update.installed_version(), update.offer(transport)
            same = found.version == old
            click.echo(f"本机 / installed: {old or '—'}；平台 / offered: {found.version} (sha256 {found.sha256[:12]}…)"
                       + (" · 已是最新 / up to date" if same else " · 可运行 fieldkit update / run fieldkit update"))
            return
        old, found, done = update.update(transport, target, force)
    except update.UpdateFailed as exc:
        raise click.ClickException(f"更新失败 / update failed: {exc.zh} / {exc.en}") from None
    except Unreachable:
        raise click.ClickException("无法连接服务器，请联网后重试 / cannot reach the server; try again online") from None
    except ServerRefused as exc:
        raise click.ClickException(f"服务器拒绝 / refused ({exc.status} {exc.code}): "
                                   f"{exc.message_zh} / {exc.message_en}") from None
    if not done:
        click.echo(f"已是最新 / up to date: {old}")
        return
    click.echo(f"外业工具已更新 / field kit updated: {old or '—'} → {found.version}"
               + (f"（安装到 / into {target}）" if target else "") + "；请重新启动外业工具 / restart the kit")


@main.command()
@pass_kit
def status(kit: Kit) -> None:
    """待发送的内容、上次同步、冲突 / what waits to be sent, the last sync, conflicts."""
    store = kit.store
    outbox = store.outbox()
    files = store.pending_files()
    by_type: dict[str, int] = {}
    for m in outbox:
        by_type[m.type] = by_type.get(m.type, 0) + 1
    click.echo(f"服务器 / server: {store.get_meta('server')}  设备 / device: "
               f"{'已登记 / enrolled' if store.get_meta('token') else '未登记 / not enrolled'}")
    waiting = ", ".join(f"{k} {v}" for k, v in sorted(by_type.items())) or "无 / none"
    click.echo(f"待发送 / waiting: {len(outbox)} ({waiting}); 文件 / files {len(files)} "
               f"({sum(f.size for f in files)} B)")
    click.echo(f"上次同步 / last sync: 发送 / push {store.get_meta('last_push') or '从未 / never'}, "
               f"接收 / pull {store.get_meta('last_pull') or '从未 / never'}")
    click.echo(f"冲突 / conflicts: {len(store.conflicts())}")
    rejected = [y for y in store.records("yield") if isinstance(y, YieldMeasurement) and y.review_state == "rejected"]
    if rejected:
        click.echo(f"被退回的测产 / rejected yields: {len(rejected)}（fieldkit yield list）")
        for y in rejected:
            click.echo(f"  {y.id[:8]}: {y.review_comment or ''}")


@main.command()
@pass_kit
def conflicts(kit: Kit) -> None:
    """服务器保留了其值的修改和被拒的记录 / edits the server kept its own value for, and refusals."""
    rows = kit.store.conflicts()
    for c in rows:
        if c.kind == "conflict":
            mine, server = json.dumps(c.mine, ensure_ascii=False), json.dumps(c.server, ensure_ascii=False)
            click.echo(f"[冲突 / conflict] {c.type} {c.record_id[:8]}: 本机 / mine {mine} → 服务器 / server {server}")
        else:
            click.echo(f"[被拒 / rejected] {c.type} {c.record_id[:8]} {c.field or ''}: {c.message or c.code}")
    click.echo(f"共 {len(rows)} 项 / {len(rows)} in all")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["geojson", "kml", "csv"]), default="geojson", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="输出文件（默认标准输出）/ output file (default stdout)")
@pass_kit
def export(kit: Kit, fmt: str, output: Path | None) -> None:
    """导出地块边界 / export plot boundaries."""
    plots = [p for p in kit.store.records("plot") if isinstance(p, DemoPlot) and p.boundary is not None]
    feats = [formats.Feature(p.boundary, {"name": p.name, "crop": p.crop, "season": p.season,
                                          "variety": p.variety or ""}, p.id) for p in plots]
    data: bytes
    if fmt == "geojson":
        data = formats.write_geojson(feats).encode("utf-8")
    elif fmt == "kml":
        data = formats.write_kml(feats).encode("utf-8")
    else:
        data = formats.write_csv(feats, columns=["name", "crop", "season", "variety"])
    if output is None:
        click.echo(data, nl=False)
    else:
        output.write_bytes(data)
        click.echo(f"已导出 {len(feats)} 块 / exported {len(feats)} plots: {output}")


@main.command()
@click.option("--port", default=8765, show_default=True, help="端口 / port on 127.0.0.1")
@click.option("--min-accuracy", default=15.0, show_default=True,
              help="走边界时记录的最低 GPS 精度（米）/ worst GPS accuracy a walk records, metres")
@click.option("--max-vertices", default=2000, show_default=True, help="一次走边界最多记录的点 / points per walk")
@pass_kit
def serve(kit: Kit, port: int, min_accuracy: float, max_vertices: int) -> None:
    """在本机浏览器中使用外业工具（无需联网）/ the kit's web UI on 127.0.0.1, offline."""
    from werkzeug.serving import run_simple

    from fieldkit.web import WebSettings, create_app

    kit.store  # noqa: B018 -- says "run fieldkit init first" before anything starts
    app = create_app(kit.home, transport=kit.make_transport,
                     web=WebSettings(min_accuracy_m=min_accuracy, max_vertices=max_vertices))
    click.echo(f"外业工具网页 / field kit UI: http://127.0.0.1:{port}/  （Ctrl+C 退出 / to stop）")
    run_simple("127.0.0.1", port, app, threaded=True)
