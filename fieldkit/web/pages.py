"""The kit's pages: plots, a plot with its map, yields and photos, the yield form, sync, offline results.

Every write goes through ``fieldkit.records`` (the record and its outbox mutation in one local transaction), so
the web UI and the command line store exactly the same thing. A refused form comes back with the agent's input
and the reason next to each field: nothing typed in the field is lost.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, send_file, url_for
from markupsafe import Markup
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from catalog.db import beijing_today
from catalog.field import DEMO_TYPES, LEVELS, METHODS, SOURCE_CRS, DemoPlot, Photo, YieldMeasurement
from catalog.yields import sample_points_required
from fieldkit import codec, records, reference, settings
from fieldkit.enrol import enrol
from fieldkit.store import FileUpload, Listing
from gis import formats, maps
from gis.area import m2_to_mu
from sync.transport import ServerRefused, Unreachable

Page = str | Response | tuple[str, int]  # a page, a redirect, or a page with its error status

bp = Blueprint("kit", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

BOUNDARY_FILES = {".gpx": formats.read_gpx, ".kml": formats.read_kml, ".geojson": formats.read_geojson,
                  ".json": formats.read_geojson, ".csv": formats.read_csv_vertices}
PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
PERCENT = {"moisture", "impurity", "shelling_rate", "seed_setting"}  # typed in %, kept as fractions
HARVEST_INPUTS = ("area_mu", "fresh_kg", "moisture", "impurity", "shelling_rate")
THEORY_INPUTS = ("ears_per_mu", "grains_per_ear", "thousand_grain_g", "seed_setting")
MAX_ROWS = 50
PLOT_TEXT = ("name", "variety", "farmer_name", "farmer_phone", "cooperative", "notes")


# --- helpers the templates use ---------------------------------------------------------------------------------

def lang() -> str:
    chosen = request.args.get("lang") or request.cookies.get("lang")
    return "en" if chosen == "en" else "zh"


def t(zh: str, en: str) -> str:
    """The text in the page's language (zh-CN unless the agent chose English)."""
    return en if lang() == "en" else zh


def mu(area_m2: float | None) -> str:
    return f"{m2_to_mu(area_m2):,.2f}" if area_m2 else "—"


def kit() -> Any:
    return current_app.extensions["fieldkit"]


@bp.after_app_request
def _remember_lang(resp: Response) -> Response:
    if request.args.get("lang") in ("zh", "en"):
        resp.set_cookie("lang", request.args["lang"], max_age=3600 * 24 * 365, samesite="Strict")
    return resp


def _author() -> str | None:
    return kit().store.get_meta("username")  # type: ignore[no-any-return]


LABELS = {"name": ("地块名称", "Plot name"), "crop": ("作物", "Crop"), "season": ("季节", "Season"),
          "county_code": ("所在县", "County"), "boundary": ("边界", "Boundary"), "demo_type": ("示范类型", "Demo type"),
          "land_scenario": ("耕地场景", "Land scenario"), "samples": ("样点", "Samples"), "method": ("方法", "Method"),
          "baseline_kg_per_mu": ("对照产量", "Baseline"), "baseline_type": ("对照类型", "Baseline type"),
          "measured_on": ("测产日期", "Date"), "level": ("级别", "Level"), "plot_id": ("地块", "Plot")}


def _problems(exc: records.RecordRefused) -> dict[str, list[str]]:
    """Messages by form field, each naming its field; a sample's problem (``samples.2`` or
    ``samples[2].fresh_kg``) names its row."""
    out: dict[str, list[str]] = {}
    for p in exc.problems:
        name = re.split(r"[.\[]", p.field)[0]
        row = re.match(r"samples[.\[](\d+)", p.field)
        where = t(f"样点 {row.group(1)}", f"Sample {row.group(1)}") if row else t(*LABELS.get(name, (name, name)))
        out.setdefault(name, []).append(t(f"{where}：{p.zh}", f"{where}: {p.en}"))
    return out


def _plot_or_404(plot_id: str) -> DemoPlot:
    with kit().store.session() as s:
        plot = s.get(DemoPlot, plot_id)
        if plot is None or plot.deleted:
            abort(404)
        return plot  # type: ignore[no-any-return]


def _pending_ids() -> set[str]:
    return {m.record_id for m in kit().store.outbox()}


# --- plots -----------------------------------------------------------------------------------------------------

@bp.get("/")
def plots() -> str:
    store = kit().store
    rows = sorted((p for p in store.records("plot") if isinstance(p, DemoPlot)),
                  key=lambda p: (p.season, p.name), reverse=True)
    return render_template("plots.html", plots=rows, pending=_pending_ids(), crops=reference.labels(store, "crop",
                           lang()), county=store.get_meta("county"), enrolled=bool(store.get_meta("token")),
                           waiting=len(store.outbox()))


def _plot_form_context(plot: DemoPlot | None, values: Mapping[str, Any], errors: Mapping[str, list[str]]
                       ) -> dict[str, Any]:
    store, web = kit().store, kit().web
    year = beijing_today().year
    others = [p for p in store.records("plot") if isinstance(p, DemoPlot) and (plot is None or p.id != plot.id)]
    return {"plot": plot, "values": values, "errors": errors, "web": web,
            "crops": reference.choices(store, "crop"), "seasons": reference.seasons(store, range(year - 1, year + 2),
                                                                                    lang()),
            "land_scenarios": reference.choices(store, "land_scenario"), "demo_types": DEMO_TYPES,
            "crs_options": SOURCE_CRS, "control_plots": sorted(others, key=lambda p: p.name)}


def _plot_values(plot: DemoPlot | None) -> dict[str, Any]:
    if plot is None:
        return {"demo_type": "variety", "source_crs": "wgs84", "boundary_source": "coords"}  # walk.js picks "walk"
    out = {k: v for k, v in codec.record_fields("plot", plot).items() if k != "boundary" and v is not None}
    out["boundary_source"] = "keep"
    return out


@bp.get("/plots/new")
def plot_new() -> str:
    return render_template("plot_form.html", **_plot_form_context(None, _plot_values(None), {}))


@bp.get("/plots/<plot_id>/edit")
def plot_edit(plot_id: str) -> str:
    plot = _plot_or_404(plot_id)
    return render_template("plot_form.html", **_plot_form_context(plot, _plot_values(plot), {}))


def _boundary_from_form(form: Mapping[str, str], upload: FileStorage | None, crs: str
                        ) -> tuple[BaseGeometry | None, str | None]:
    """(boundary, error) from the one source the agent chose: a GPS walk, a file, or typed coordinates."""
    source = form.get("boundary_source", "walk")
    try:
        if source == "walk":
            fixes = json.loads(form.get("walk") or "[]")
            if not fixes:
                return None, t("请先走完地块边界（或改用文件、坐标）",
                               "Walk the boundary first (or use a file or coordinates)")
            feature = formats.walk_to_boundary(fixes, "wgs84", max_accuracy_m=kit().web.min_accuracy_m)
            return feature.geometry, None
        if source == "file":
            if upload is None or not upload.filename:
                return None, t("请选择边界文件（GPX、KML、GeoJSON 或 CSV）",
                               "Choose a boundary file (GPX, KML, GeoJSON or CSV)")
            reader = BOUNDARY_FILES.get(Path(upload.filename).suffix.lower())
            if reader is None:
                return None, t("只支持 GPX、KML、GeoJSON、CSV 文件", "Only GPX, KML, GeoJSON and CSV files")
            feats = reader(upload.read(), crs)
        elif source == "coords":
            text = (form.get("coords") or "").replace("；", ";").replace("，", ",").replace("\n", ";")
            pts = [tuple(float(v) for v in p.split(",")) for p in text.split(";") if p.strip()]
            if len(pts) < 3 or any(len(p) != 2 for p in pts):
                return None, t("坐标应为“经度,纬度”，每行一个点，至少三个点",
                               "Give at least three points, one “lon,lat” per line")
            feats = formats.read_geojson(json.dumps({"type": "Polygon", "coordinates": [[*pts, pts[0]]]}), crs)
        else:
            return None, None  # "keep" the stored boundary, or walk it "later"
    except (ValueError, formats.FormatError) as exc:
        return None, t(f"无法读取边界：{exc}", f"Cannot read the boundary: {exc}")
    if len(feats) != 1:
        return None, t(f"文件中有 {len(feats)} 个边界，需要恰好一个",
                       f"The file holds {len(feats)} boundaries; one is needed")
    return feats[0].geometry, None


def _save_plot(plot: DemoPlot | None) -> Page:
    form = request.form
    values: dict[str, Any] = {k: (form.get(k) or "").strip() for k in PLOT_TEXT}
    values.update({k: form.get(k) or None for k in ("crop", "season", "land_scenario", "demo_type",
                                                   "control_plot_id")})
    crs = str(form.get("source_crs")) if form.get("source_crs") in SOURCE_CRS else "wgs84"
    if form.get("boundary_source") == "walk":
        crs = "wgs84"  # the browser's geolocation is WGS-84 (W3C Geolocation)
    boundary, error = _boundary_from_form(form, request.files.get("boundary_file"), crs)
    entered = {**values, "source_crs": crs, "boundary_source": form.get("boundary_source"),
               "coords": form.get("coords", ""), "walk": form.get("walk", "")}
    if error:
        return render_template("plot_form.html", **_plot_form_context(plot, entered, {"boundary": [error]})), 422
    if boundary is not None:
        values.update(boundary=boundary, source_crs=crs)
    if plot is None and not kit().store.get_meta("county"):
        unknown = t("本设备还不知道所在县：请先在“同步”页登记设备",
                    "This device has no county yet: enrol it on the Sync page")
        return render_template("plot_form.html", **_plot_form_context(plot, entered, {"county_code": [unknown]})), 422
    try:
        with kit().store.session() as s:
            if plot is None:
                values["county_code"] = kit().store.get_meta("county")
                saved = records.create(s, "plot", values, author=_author())
            else:
                saved = records.edit(s, "plot", plot.id, values, author=_author())
            plot_id = saved.id
    except records.RecordRefused as exc:
        return render_template("plot_form.html", **_plot_form_context(plot, entered, _problems(exc))), 422
    return redirect(url_for("kit.plot_page", plot_id=plot_id, saved=1))


@bp.post("/plots/new")
def plot_create() -> Page:
    return _save_plot(None)


@bp.post("/plots/<plot_id>/edit")
def plot_update(plot_id: str) -> Page:
    return _save_plot(_plot_or_404(plot_id))


@bp.post("/plots/<plot_id>/delete")
def plot_delete(plot_id: str) -> Response:
    _plot_or_404(plot_id)
    with kit().store.session() as s:
        records.delete(s, "plot", plot_id)
    return redirect(url_for("kit.plots"))


def _maps(plot: DemoPlot) -> tuple[Markup | None, Markup | None]:
    """The plot close up, and where it lies in its county (counties without a polygon get no county map)."""
    if plot.boundary is None:
        return None, None
    drawn = [maps.MapPlot(plot.id, plot.boundary, plot.name)]
    frame = plot.boundary.envelope.buffer(max(plot.boundary.envelope.length / 8, 0.0002), join_style="mitre")
    close = maps.render_region_map(frame, drawn, title=plot.name, width=640, height=420)
    try:
        county = maps.render_county_map(plot.county_code, drawn, width=640, height=480)
    except KeyError:
        county = None
    # gis renders escaped, self-contained SVG (no scripts): safe to place in the page as it is.
    return Markup(close), Markup(county) if county else None


@bp.get("/plots/<plot_id>")
def plot_page(plot_id: str) -> str:
    plot = _plot_or_404(plot_id)
    store = kit().store
    with store.session() as s:
        ylds = list(s.scalars(select(YieldMeasurement).where(YieldMeasurement.plot_id == plot_id,
                                                            YieldMeasurement.deleted.is_(False))
                              .order_by(YieldMeasurement.created_at)))
        photos = list(s.scalars(select(Photo).where(Photo.plot_id == plot_id, Photo.deleted.is_(False))
                                .order_by(Photo.created_at)))
        local = {f.sha256 for f in s.scalars(select(FileUpload))}
        control = s.get(DemoPlot, plot.control_plot_id) if plot.control_plot_id else None
    close, county = _maps(plot)
    return render_template("plot.html", plot=plot, yields=ylds, photos=photos, local_files=local, control=control,
                           close_map=close, county_map=county, pending=_pending_ids(),
                           crops=reference.labels(store, "crop", lang()),
                           land=reference.labels(store, "land_scenario", lang()),
                           season=reference.season_label(store, plot.season, lang()),
                           flags=plot.flags or {}, saved=request.args.get("saved"))


# --- yields ----------------------------------------------------------------------------------------------------

def _number_or_text(raw: str, percent: bool) -> Any:
    text = raw.strip().replace("，", ".").replace("％", "%").rstrip("%")
    try:
        value = float(text)
    except ValueError:
        return raw.strip()  # the rule names the field and says it is not a number
    return value / 100 if percent else value


def _method(raw: str | None) -> str:
    return raw if raw in METHODS else "harvest"


def _yield_form(form: Mapping[str, str]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The yield's fields from the form, and its sample rows as typed (for showing the form again).

    Rows are ``s0_area_mu``, ``s0_fresh_kg``, ... in order; a blank row is skipped, percentages become fractions."""
    method = _method(form.get("method"))
    keys = HARVEST_INPUTS if method == "harvest" else THEORY_INPUTS
    rows: list[dict[str, str]] = []
    samples: list[dict[str, Any]] = []
    for i in range(MAX_ROWS):
        if f"s{i}_{keys[0]}" not in form:
            break
        row = {k: (form.get(f"s{i}_{k}") or "").strip() for k in keys}
        rows.append(row)
        if any(row.values()):
            samples.append({k: _number_or_text(v, k in PERCENT) for k, v in row.items() if v})
    values: dict[str, Any] = {"method": method, "level": form.get("level") or "county", "samples": samples,
                              "crop": form.get("crop") or None, "measured_on": form.get("measured_on") or None,
                              "baseline_type": form.get("baseline_type") or None,
                              "panel": form.get("panel") or "", "notes": (form.get("notes") or "").strip() or None}
    baseline = (form.get("baseline_kg_per_mu") or "").strip()
    values["baseline_kg_per_mu"] = _number_or_text(baseline, False) if baseline else None
    return values, rows


def _yield_errors(errors: list[Any]) -> dict[str, list[str]]:
    return _problems(records.RecordRefused([records.Problem(e.field, e.zh, e.en) for e in errors]))


def _yield_context(plot: DemoPlot, values: Mapping[str, Any], rows: list[dict[str, str]],
                   errors: Mapping[str, list[str]], computed: Mapping[str, Any] | None) -> dict[str, Any]:
    store = kit().store
    need = sample_points_required(m2_to_mu(plot.area_m2) if plot.area_m2 else None)
    rows = rows or [{} for _ in range(need)]
    crops = [c for c in reference.choices(store, "crop") if c.code == plot.crop or c.parent == plot.crop]
    return {"plot": plot, "values": values, "rows": rows, "errors": errors, "computed": computed, "need": need,
            "methods": METHODS, "levels": LEVELS, "crops": crops or reference.choices(store, "crop"),
            "standard": reference.standard_moisture(values.get("crop") or plot.crop)}


@bp.get("/plots/<plot_id>/yields/new")
def yield_new(plot_id: str) -> str:
    plot = _plot_or_404(plot_id)
    crop = plot.crop if reference.standard_moisture(plot.crop) is not None else None
    values = {"method": _method(request.args.get("method")), "level": "county", "crop": crop,
              "measured_on": beijing_today().isoformat()}
    return render_template("yield_form.html", **_yield_context(plot, values, [], {}, None))


@bp.post("/plots/<plot_id>/yields/preview")
def yield_preview(plot_id: str) -> Response:
    """What the server will compute from the form as typed: kg/亩 at standard moisture, the gain, or why not."""
    plot = _plot_or_404(plot_id)
    values, _rows = _yield_form(request.form)
    if not values["samples"]:
        return jsonify(ok=False, errors={})
    out, errors = reference.compute_yield(values, plot)
    return jsonify(ok=not errors, errors=_yield_errors(errors), yield_kg_per_mu=out.get("yield_kg_per_mu"),
                   standard_moisture=out.get("standard_moisture"), gain_pct=out.get("gain_pct"))


@bp.post("/plots/<plot_id>/yields/new")
def yield_create(plot_id: str) -> Page:
    plot = _plot_or_404(plot_id)
    values, rows = _yield_form(request.form)
    if not values["samples"]:
        missing = {"samples": [t("至少需要一个样点", "Give at least one sample point")]}
        return render_template("yield_form.html", **_yield_context(plot, values, rows, missing, None)), 422
    out, errors = reference.compute_yield(values, plot)
    try:
        if errors:
            raise records.RecordRefused([records.Problem(e.field, e.zh, e.en) for e in errors])
        with kit().store.session() as s:
            records.create(s, "yield", {"plot_id": plot.id, **out}, author=_author())
    except records.RecordRefused as exc:
        return render_template("yield_form.html", **_yield_context(plot, values, rows, _problems(exc), None)), 422
    return redirect(url_for("kit.plot_page", plot_id=plot.id, saved=1) + "#yields")


# --- photos ----------------------------------------------------------------------------------------------------

@bp.post("/plots/<plot_id>/photos")
def photo_add(plot_id: str) -> Page:
    from PIL import Image, UnidentifiedImageError

    plot = _plot_or_404(plot_id)
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        abort(400)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload"
        upload.save(path)
        try:
            with Image.open(path) as im:
                kind = im.format
                im.verify()
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
            kind = None
        if kind not in PHOTO_TYPES:
            return _photo_refused(plot, t("只接受 JPEG 或 PNG 照片", "Only JPEG or PNG photos"))
        source = path.with_suffix(".png" if kind == "PNG" else ".jpg")
        path.rename(source)
        with kit().store.session() as s:
            records.add_photo(s, settings.files_dir(kit().home), plot.id, source,
                              caption=(request.form.get("caption") or "").strip() or None, author=_author())
    return redirect(url_for("kit.plot_page", plot_id=plot.id, saved=1) + "#photos")


def _photo_refused(plot: DemoPlot, message: str) -> tuple[str, int]:
    return render_template("message.html", title=t("照片未保存", "Photo not saved"), message=message,
                           back=url_for("kit.plot_page", plot_id=plot.id)), 422


@bp.get("/files/<sha256>")
def file(sha256: str) -> Response:
    with kit().store.session() as s:
        row = s.get(FileUpload, sha256)
        photo = s.scalar(select(Photo).where(Photo.sha256 == sha256).limit(1))
    if row is None or not Path(row.path).is_file():
        abort(404)
    resp = send_file(row.path, mimetype=photo.mime if photo is not None else "application/octet-stream")
    resp.headers["Cache-Control"] = "private, max-age=86400"  # content-addressed: it never changes
    return resp


# --- sync ------------------------------------------------------------------------------------------------------

def _sync_context(enrol_error: str | None = None) -> dict[str, Any]:
    store = kit().store
    outbox = store.outbox()
    by_type: dict[str, int] = {}
    for m in outbox:
        by_type[m.type] = by_type.get(m.type, 0) + 1
    files = store.pending_files()
    return {"state": kit().job.state(), "server": store.get_meta("server"), "enrolled": bool(store.get_meta("token")),
            "username": store.get_meta("username"), "county": store.get_meta("county"), "waiting": by_type,
            "waiting_total": len(outbox), "files": len(files), "file_bytes": sum(f.size for f in files),
            "last_push": store.get_meta("last_push"), "last_pull": store.get_meta("last_pull"),
            "conflicts": store.conflicts(), "enrol_error": enrol_error}


@bp.get("/sync")
def sync_page() -> str:
    return render_template("sync.html", **_sync_context())


@bp.post("/sync")
def sync_start() -> Response:
    if kit().store.get_meta("token"):
        kit().job.start()
    return redirect(url_for("kit.sync_page"))


@bp.get("/sync/progress")
def sync_progress() -> Response:
    return jsonify(kit().job.state().as_dict())


@bp.post("/enrol")
def enrol_device() -> Page:
    form = request.form
    try:
        enrol(kit().store, kit().transport, (form.get("username") or "").strip(), form.get("password") or "",
              (form.get("device_name") or "").strip() or "外业工具 / field kit")
    except ServerRefused as exc:
        error = t(f"登记失败：{exc.message_zh}", f"Enrolment refused: {exc.message_en}")
    except Unreachable:
        error = t("无法连接服务器，请联网后重试", "Cannot reach the server; try again online")
    else:
        return redirect(url_for("kit.sync_page"))
    return render_template("sync.html", **_sync_context(error)), 422


# --- offline result listings -----------------------------------------------------------------------------------

@bp.get("/results")
def results() -> str:
    q = (request.args.get("q") or "").strip()
    with kit().store.session() as s:
        query = select(Listing).where(Listing.type == "result")
        for word in q.split():
            query = query.where(Listing.text.contains(word.lower(), autoescape=True))
        total = len(list(s.scalars(query.with_only_columns(Listing.record_id))))
        found = [row.record for row in s.scalars(query.order_by(Listing.record_id).limit(50))]
    found.sort(key=lambda r: r.get("name") or "")
    return render_template("results.html", q=q, results=found, total=total)


@bp.get("/results/<result_id>")
def result_page(result_id: str) -> str:
    with kit().store.session() as s:
        row = s.get(Listing, ("result", result_id))
        if row is None:
            abort(404)
        record = dict(row.record)
    store = kit().store
    return render_template("result.html", r=record, crops=reference.labels(store, "crop", lang()),
                           fields=reference.labels(store, "tech_field", lang()))


@bp.app_errorhandler(404)
def not_found(_exc: Exception) -> tuple[str, int]:
    return render_template("message.html", title=t("找不到", "Not found"),
                           message=t("没有这一页或这条记录", "No such page or record"), back=url_for("kit.plots")), 404


@bp.app_errorhandler(413)
def too_large(_exc: Exception) -> tuple[str, int]:
    return render_template("message.html", title=t("文件太大", "File too large"),
                           message=t(f"上传不能超过 {kit().web.max_upload_mb} MB",
                                     f"Uploads are limited to {kit().web.max_upload_mb} MB"),
                           back=url_for("kit.plots")), 413
