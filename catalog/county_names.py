"""Matching county names, as officials write them, to current county codes within a province.

Official lists name counties loosely: "昆山" for 昆山市, "阜新县" for 阜新蒙古族自治县, "横县" (renamed 横州市 in 2021),
"湖南省临澧(县)". A name is looked up within its province, in tiers, and the first tier that finds anything
decides: the current name, then a former name (from the change events), then a short form of either (the name
without its 县/市/区/旗 suffix or its 某族自治县 part, kept only when at least two characters remain). Several
candidates in the deciding tier make the name ambiguous (鼓楼区 is both 南京 and 徐州 in 江苏) unless the
prefecture narrows it down.

Candidates are the 2,851 current county-equivalent units (counties, and prefecture cities without counties such
as 东莞市).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.divisions import ChangeGraph, Division, DivisionChange

# The change events before 1984 swap codes back and forth within prefectures (code-book diffs of 1981–83),
# and 码位改派 hands a code to a different unit: neither gives reliable former names.
FORMER_NAMES_SINCE = 1984
NOT_A_RENAME = ("码位改派",)

# The 55 minority nationalities as autonomous county names write them (+ 各族, "all nationalities").
_ETHNIC = (
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 "
    "柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 "
    "塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺 各"
).split()
_AUTONOMOUS = re.compile(
    "(?:(?:" + "|".join(sorted(_ETHNIC, key=len, reverse=True)) + ")族)+自治(?:县|旗)$"
)
_SUFFIXES = ("自治县", "自治旗", "林区", "特区", "县", "市", "区", "旗")
_PROVINCE_SUFFIX = re.compile(r"(?:壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|省|市)$")
_NOISE = re.compile(r"[\s\u3000()（）]")
# 新疆生产建设兵团's cities are county-equivalents of 新疆 (6590xx).
PROVINCE_ALIASES = {"新疆生产建设兵团": "650000", "兵团": "650000"}


def clean(name: str) -> str:
    """Drop spaces and brackets: "临澧(县)" → "临澧县"."""
    return _NOISE.sub("", name or "")


def short_forms(name: str) -> set[str]:
    """Shorter spellings of a division name, each at least two characters.

    >>> sorted(short_forms("阜新蒙古族自治县"))
    ['阜新', '阜新县']
    """
    out: set[str] = set()
    m = _AUTONOMOUS.search(name)
    if m and m.start() >= 2:
        base = name[: m.start()]
        return {base, base + name[-1]}  # 阜新, 阜新县
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            out.add(name[: -len(suffix)])
            break
    out.discard(name)
    return out


@dataclass(frozen=True)
class Match:
    """The outcome for one name: one code (matched), several (ambiguous) or none (unmatched)."""

    codes: tuple[str, ...]
    how: str | None = None  # "name" | "former_name" | "short_name" | "short_former_name"

    @property
    def code(self) -> str | None:
        return self.codes[0] if len(self.codes) == 1 else None


@dataclass
class _ProvinceIndex:
    tiers: dict[str, dict[str, set[str]]] = field(
        default_factory=lambda: {t: defaultdict(set) for t in
                                 ("name", "former_name", "short_name", "short_former_name")}
    )


class CountyNames:
    """An in-memory index of current county-equivalent names per province, built once from the database."""

    def __init__(self, session: Session) -> None:
        divisions = list(session.scalars(select(Division).where(Division.valid_to.is_(None))))
        self.divisions = {d.code: d for d in divisions}
        self._provinces: dict[str, str] = dict(PROVINCE_ALIASES)
        self._prefectures: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._index: dict[str, _ProvinceIndex] = defaultdict(_ProvinceIndex)
        for d in divisions:
            if d.level == "province":
                for key in {d.name, d.code, d.code[:2], _PROVINCE_SUFFIX.sub("", d.name)}:
                    self._provinces[key] = d.code
            elif d.level == "prefecture":
                for key in {d.name, *short_forms(d.name)}:
                    self._prefectures[d.province_code][key].add(d.code)
            if d.county_equivalent:
                self._add(d.province_code, d.name, d.code, "name", "short_name")
        self._index_former_names(session)

    def _add(self, province: str, name: str, code: str, tier: str, short_tier: str) -> None:
        index = self._index[province].tiers
        index[tier][name].add(code)
        for short in short_forms(name):
            index[short_tier][short].add(code)

    def _index_former_names(self, session: Session) -> None:
        graph = ChangeGraph.preloaded(session)
        events = session.execute(
            select(DivisionChange.old_code, DivisionChange.old_name, DivisionChange.new_code)
            .where(DivisionChange.year >= FORMER_NAMES_SINCE, DivisionChange.type.not_in(NOT_A_RENAME),
                   DivisionChange.old_code.is_not(None), DivisionChange.old_name.is_not(None))
        )
        for old_code, old_name, new_code in events:
            if old_code is None or old_name is None:  # filtered above; narrows the types
                continue
            targets = [old_code] if old_code == new_code else graph.successors(old_code)
            for code in targets:
                d = self.divisions.get(code)
                if d is not None and d.county_equivalent and d.name != old_name:
                    self._add(d.province_code, old_name, code, "former_name", "short_former_name")

    def province(self, value: str) -> str | None:
        """The province code for a name ("江苏省", "江苏"), a code ("320000", "32") or 兵团; else None."""
        value = clean(value)
        return self._provinces.get(value) or self._provinces.get(_PROVINCE_SUFFIX.sub("", value))

    def prefecture_name(self, code: str) -> str | None:
        d = self.divisions.get(code)
        parent = self.divisions.get(d.parent_code) if d and d.parent_code else None
        return parent.name if parent is not None and parent.level == "prefecture" else None

    def match(self, province_code: str, name: str, prefecture: str | None = None) -> Match:
        """Codes for ``name`` within the province; ``prefecture`` (a name) narrows several candidates."""
        name, prefecture = clean(name), clean(prefecture or "")
        found = self._lookup(province_code, name)
        if not found.codes:
            for rest, hint in self._without_prefixes(province_code, name):
                found = self._lookup(province_code, rest)
                if found.codes:
                    prefecture = prefecture or hint or ""
                    break
        if len(found.codes) > 1 and prefecture:
            wanted = self._prefectures[province_code].get(prefecture) or set()
            narrowed = tuple(c for c in found.codes if self.divisions[c].parent_code in wanted)
            if narrowed:
                return Match(narrowed, found.how)
        return found

    def _without_prefixes(self, province_code: str, name: str) -> list[tuple[str, str | None]]:
        """The name without a leading province and/or prefecture ("湖南省临澧县", "苏州市昆山市"), longest first."""
        for key, code in sorted(self._provinces.items(), key=lambda kv: -len(kv[0])):
            if code == province_code and not key.isdigit() and name.startswith(key) and len(name) - len(key) >= 2:
                name = name[len(key):]
                break
        out: list[tuple[str, str | None]] = [(name, None)]
        for key in sorted(self._prefectures[province_code], key=len, reverse=True):
            if name.startswith(key) and len(name) - len(key) >= 2:
                out.append((name[len(key):], key))
        return out

    def _lookup(self, province_code: str, name: str) -> Match:
        tiers = self._index[province_code].tiers
        for tier in ("name", "former_name"):
            if codes := tiers[tier].get(name):
                return Match(tuple(sorted(codes)), tier)
        keys = {name, *short_forms(name)}
        for tier in ("short_name", "short_former_name"):
            if codes := set().union(*(tiers[tier].get(key, set()) for key in keys)):
                return Match(tuple(sorted(codes)), tier)
        return Match(())
