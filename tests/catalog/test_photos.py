"""Photo EXIF (time and position read with Pillow) checked against the plot and its season: flagged, not refused."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from fractions import Fraction

import pytest
import shapely
from PIL import Image
from sqlalchemy.orm import Session

from catalog.access import Actor, Grant
from catalog.errors import ValidationFailed
from catalog.field import Photo
from catalog.field_rules import apply_photo, apply_plot
from catalog.photos import check_photo, read_exif, season_window

AGENT = Actor("agent", "1", (Grant("agent", "410122"),))
PLOT = shapely.box(113.99, 34.70, 114.0, 34.705)


def jpeg(taken: str | None = None, lon: float | None = None, lat: float | None = None, offset: str | None = None
         ) -> bytes:
    image = Image.new("RGB", (8, 8), "green")
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
        if offset:
            exif.get_ifd(0x8769)[0x9011] = offset
    if lon is not None and lat is not None:
        def dms(v: float) -> tuple[Fraction, Fraction, Fraction]:
            d = int(abs(v))
            m = int((abs(v) - d) * 60)
            s = Fraction(round((abs(v) - d - m / 60) * 3600 * 10000), 10000)
            return Fraction(d), Fraction(m), s

        gps = exif.get_ifd(0x8825)
        gps.update({1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W", 4: dms(lon)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_read_exif__time_in_beijing_and_position() -> None:
    info = read_exif(jpeg("2026:06:01 10:30:00", 113.995, 34.7025))
    assert info.taken_at == dt.datetime(2026, 6, 1, 2, 30, tzinfo=dt.UTC)
    assert info.lon == pytest.approx(113.995, abs=1e-6) and info.lat == pytest.approx(34.7025, abs=1e-6)
    assert read_exif(jpeg("2026:06:01 10:30:00", offset="+02:00")).taken_at == dt.datetime(2026, 6, 1, 8, 30,
                                                                                            tzinfo=dt.UTC)


def test_read_exif__nothing_said_and_not_an_image() -> None:
    info = read_exif(jpeg())
    assert (info.taken_at, info.lon, info.lat) == (None, None, None)
    with pytest.raises(ValueError):
        read_exif(b"not an image")


def test_season_window__summer_grain_starts_the_autumn_before() -> None:
    extra = {"start_month": 9, "start_year_offset": -1, "end_month": 7}
    assert season_window("2026-summer_grain", extra) == (dt.date(2025, 9, 1), dt.date(2026, 7, 31))
    assert season_window("2026-late_rice", {"start_month": 6, "end_month": 12}) == (dt.date(2026, 6, 1),
                                                                                     dt.date(2026, 12, 31))


def test_check_photo__inside_tolerance_no_flags_far_or_off_season_flagged() -> None:
    extra = {"start_month": 3, "end_month": 11}
    when = dt.datetime(2026, 8, 1, 2, tzinfo=dt.UTC)
    assert check_photo(boundary=PLOT, season="2026-autumn_grain", season_extra=extra, taken_at=when,
                       lon=114.0005, lat=34.702) == {}  # ~46 m east of the edge
    far = check_photo(boundary=PLOT, season="2026-autumn_grain", season_extra=extra, taken_at=when, lon=114.01,
                      lat=34.702)
    assert far["place_mismatch"]["distance_m"] == pytest.approx(914, abs=5)
    late = check_photo(boundary=PLOT, season="2025-autumn_grain", season_extra=extra,
                       taken_at=dt.datetime(2025, 12, 20, tzinfo=dt.UTC), lon=113.995, lat=34.702)
    assert late["time_mismatch"]["season_to"] == "2025-11-30"
    future = check_photo(boundary=PLOT, season="2025-autumn_grain", season_extra=extra, lon=113.995, lat=34.702,
                         taken_at=dt.datetime(2025, 8, 1, tzinfo=dt.UTC), now=dt.datetime(2025, 7, 1, tzinfo=dt.UTC))
    assert future["time_mismatch"]["reason"] == "future"
    assert check_photo(boundary=PLOT, season="2026-autumn_grain", season_extra=extra, taken_at=None, lon=None,
                       lat=None) == {"no_position": True, "no_time": True}


def _plot(session: Session) -> str:
    return apply_plot(session, AGENT, {"name": "p", "county_code": "410122", "crop": "maize",
                                       "season": "2026-autumn_grain", "boundary": shapely.to_geojson(PLOT)}).record.id


def test_apply_photo__exif_from_the_file_overrides_the_kit_and_mismatch_is_flagged(session: Session) -> None:
    plot_id = _plot(session)
    content = jpeg("2025:08:01 09:00:00", 114.05, 34.70)  # last year, 4.5 km away
    applied = apply_photo(session, AGENT, {"plot_id": plot_id, "sha256": hashlib.sha256(content).hexdigest(),
                                           "size": len(content), "taken_at": "2026-08-01T09:00:00+08:00",
                                           "lon": 113.995, "lat": 34.702}, content=content)
    photo = applied.record
    assert isinstance(photo, Photo)
    assert photo.taken_at == dt.datetime(2025, 8, 1, 1, tzinfo=dt.UTC)
    assert set(photo.flags) == {"place_mismatch", "time_mismatch"}
    assert [w.code for w in applied.warnings] == ["photo_flagged"]


def test_apply_photo__fitting_photo_has_no_flags(session: Session) -> None:
    plot_id = _plot(session)
    photo = apply_photo(session, AGENT, {"plot_id": plot_id, "sha256": "a" * 64, "size": 1000,
                                         "taken_at": "2026-07-15T10:00:00+08:00", "lon": 113.995,
                                         "lat": 34.702}).record
    assert isinstance(photo, Photo) and photo.flags == {}


@pytest.mark.parametrize(("change", "field"), [({"sha256": "xyz"}, "sha256"), ({"size": 0}, "size"),
                                               ({"lat": 95}, "lat"), ({"mime": "text/html"}, "mime"),
                                               ({"taken_at": "yesterday"}, "taken_at")])
def test_apply_photo__bad_values_refused(session: Session, change: dict[str, object], field: str) -> None:
    plot_id = _plot(session)
    with pytest.raises(ValidationFailed) as info:
        apply_photo(session, AGENT, {"plot_id": plot_id, "sha256": "a" * 64, "size": 10, **change})
    assert field in [e.field for e in info.value.errors]
