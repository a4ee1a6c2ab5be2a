"""Photos of a plot: their EXIF time and position, checked against the plot and its season.

A photo taken far from its plot or outside its season is flagged for review, never refused: phones get the time
zone or the GPS fix wrong, and the agent may photograph the plot from the road. Positions are WGS-84 (phone GNSS,
as EXIF stores them); distances are metres in a local projection at the plot. EXIF times without an offset are
taken as Beijing time (the phones' local time in China).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from catalog.db import BEIJING
from gis.validate import local_projection

DEFAULT_TOLERANCE_M = 100.0  # phone GNSS error plus a photo taken from the field's edge
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _OFFSET_ORIGINAL, _DATETIME = 0x9003, 0x9011, 0x0132


@dataclass(frozen=True)
class ExifInfo:
    taken_at: dt.datetime | None  # aware UTC
    lon: float | None
    lat: float | None


def _rational(value: Any) -> float:
    if isinstance(value, tuple) and len(value) == 2:  # (numerator, denominator) in some writers
        return float(value[0]) / float(value[1])
    return float(value)


def _degrees(dms: Any, ref: Any) -> float | None:
    try:
        d, m, s = (_rational(v) for v in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    return -value if str(ref).upper().startswith(("S", "W")) else value


def _time(raw: Any, offset: Any) -> dt.datetime | None:
    try:
        local = dt.datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone: dt.tzinfo = BEIJING
    if isinstance(offset, str) and len(offset.strip("\x00")) == 6:
        text = offset.strip("\x00")
        try:
            sign = -1 if text[0] == "-" else 1
            zone = dt.timezone(sign * dt.timedelta(hours=int(text[1:3]), minutes=int(text[4:6])))
        except ValueError:
            pass
    return local.replace(tzinfo=zone).astimezone(dt.UTC)


def read_exif(content: bytes) -> ExifInfo:
    """Time taken and GPS position of a JPEG/PNG/TIFF/WebP; ``None`` for what the file does not say.

    Raises ``ValueError`` when the content is not an image Pillow can open."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as image:
            exif = image.getexif()
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"not an image: {exc}") from None
    sub = exif.get_ifd(_EXIF_IFD)
    taken = _time(sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME), sub.get(_OFFSET_ORIGINAL))
    gps = exif.get_ifd(_GPS_IFD)
    lat = _degrees(gps[2], gps.get(1, "N")) if 2 in gps else None
    lon = _degrees(gps[4], gps.get(3, "E")) if 4 in gps else None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        lat = lon = None  # (0, 0): a camera that wrote the tags without a fix
    return ExifInfo(taken, lon, lat)


def season_window(season: str, months: dict[str, Any]) -> tuple[dt.date, dt.date] | None:
    """First and last day of the field work of ``season`` ("2026-summer_grain"), from the season code's
    ``extra`` (start month, its year offset, end month); None when the season cannot be read."""
    year_text, _, _code = season.partition("-")
    if not year_text.isdigit() or "start_month" not in months:
        return None
    year = int(year_text)
    start = dt.date(year + int(months.get("start_year_offset", 0)), int(months["start_month"]), 1)
    end_month = int(months["end_month"])
    end = dt.date(year + (end_month == 12), end_month % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end


def distance_to_plot_m(boundary: BaseGeometry, lon: float, lat: float) -> float:
    """Metres from (lon, lat) to the plot (0 inside it), in a local projection at the plot."""
    to_metres, _ = local_projection(boundary)
    return float(shapely.distance(to_metres(boundary), to_metres(shapely.Point(lon, lat))))


def check_photo(*, boundary: BaseGeometry | None, season: str, season_extra: dict[str, Any] | None,
                taken_at: dt.datetime | None, lon: float | None, lat: float | None,
                tolerance_m: float = DEFAULT_TOLERANCE_M, now: dt.datetime | None = None) -> dict[str, Any]:
    """Flags for a photo (empty when it fits): ``place_mismatch`` (metres beyond the plot's boundary),
    ``no_position``, ``time_mismatch`` (outside the season's window or in the future), ``no_time``."""
    flags: dict[str, Any] = {}
    if lon is None or lat is None:
        flags["no_position"] = True
    elif boundary is not None:
        distance = distance_to_plot_m(boundary, lon, lat)
        if distance > tolerance_m:
            flags["place_mismatch"] = {"distance_m": round(distance, 1), "tolerance_m": tolerance_m}
    if taken_at is None:
        flags["no_time"] = True
        return flags
    local_day = taken_at.astimezone(BEIJING).date()
    if taken_at > (now or dt.datetime.now(dt.UTC)) + dt.timedelta(days=1):
        flags["time_mismatch"] = {"taken_on": local_day.isoformat(), "reason": "future"}
        return flags
    window = season_window(season, season_extra or {})
    if window is not None and not window[0] <= local_day <= window[1]:
        flags["time_mismatch"] = {"taken_on": local_day.isoformat(), "season_from": window[0].isoformat(),
                                  "season_to": window[1].isoformat()}
    return flags
