"""The demo data set: realistic results built from the real National Key R&D Program project titles.

Each of the 109 projects of ``data/nkrdp_agri_projects_2018_2020.csv`` (title, lead institution, project number)
yields results of several forms — a variety, a technical procedure, equipment, a product, software, a standard —
whose names, summaries and classification are composed from what the title says: its crops and objects, its
region words (西北, 黄淮海, 东北 …) and its land words (旱, 盐碱, 黑土 …), looked up in ``data/title_terms.csv``;
the special project's technology fields and typical industries come from ``data/special_project_fields.csv``
(see ``data/DEMO_DATA.md``). Suitable regions are real division codes; people are never named (contacts are
offices or "X老师"), phone numbers are well-formed but fake, e-mail addresses use ``example.org``.

Everything is drawn from ``random.Random(seed)``: the same seed gives the same results, ids, timestamps and history.
Results are stored through ``create_result`` and walked through their lifecycle with ``transition`` (so validation,
facet links, text index and events are the domain's own); ``bulk_insert_results`` is the fast path for the
benchmark and writes the rows those functions would write (a test holds the two paths equal).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session

from catalog.accounts import User, create_user
from catalog.codelists import Code
from catalog.divisions import Division
from catalog.lifecycle import STEPS, transition
from catalog.result_fields import DEFAULT_TRL_SCALE
from catalog.result_index import bump_version
from catalog.result_store import create_result
from catalog.results import Result, ResultCode, ResultEvent, ResultRegion
from catalog.search_index import ResultText, tokens

DATA = Path(__file__).parent / "data"
HOLDER, REVIEWER, PUBLISHER = "demo-holder", "demo-reviewer", "demo-publisher"
# The demo's history runs between these dates, so it reads the same whenever it is seeded.
HISTORY_START = dt.datetime(2021, 3, 1, 9, 0, tzinfo=dt.UTC)
HISTORY_END = dt.datetime(2026, 10, 31, 18, 0, tzinfo=dt.UTC)
EVENT_NAMESPACE = uuid.UUID("6f1d3c52-8a7e-4b0f-9c1e-2f4a5b6c7d8e")

# Province short names (简称) and the provincial academy of agricultural sciences where its name is irregular.
PROVINCE_ABBR = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉", "23": "黑", "31": "沪",
    "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣", "37": "鲁", "41": "豫", "42": "鄂", "43": "湘",
    "44": "粤", "45": "桂", "46": "琼", "50": "渝", "51": "川", "52": "黔", "53": "滇", "54": "藏", "61": "陕",
    "62": "甘", "63": "青", "64": "宁", "65": "新",
}
ACADEMY = {"11": "北京市农林科学院", "15": "内蒙古自治区农牧业科学院", "45": "广西壮族自治区农业科学院",
           "54": "西藏自治区农牧科学院", "63": "青海省农林科学院", "64": "宁夏农林科学院", "65": "新疆农业科学院"}
AGRI_THEMES = {"breeding", "cultivation", "inputs", "environment", "machinery", "livestock", "aquaculture",
               "forestry", "basic"}

# Forms each theme produces, with weights (a food-safety project yields no variety).
FORM_WEIGHTS: dict[str, dict[str, int]] = {
    "breeding": {"variety": 55, "procedure": 25, "standard": 10, "product": 10, "software": 5, "equipment": 5},
    "cultivation": {"procedure": 40, "variety": 20, "equipment": 15, "product": 10, "software": 10, "standard": 10},
    "inputs": {"product": 35, "procedure": 35, "equipment": 10, "software": 10, "standard": 10},
    "environment": {"procedure": 35, "product": 25, "equipment": 20, "standard": 10, "software": 10},
    "machinery": {"equipment": 60, "software": 15, "procedure": 10, "standard": 15},
    "livestock": {"product": 30, "procedure": 35, "variety": 10, "software": 10, "equipment": 5, "standard": 10},
    "aquaculture": {"procedure": 35, "variety": 20, "product": 15, "equipment": 15, "software": 5, "standard": 10},
    "processing": {"equipment": 35, "product": 30, "procedure": 20, "standard": 10, "software": 5},
    "food_safety": {"product": 35, "software": 25, "procedure": 20, "standard": 20},
    "forestry": {"procedure": 40, "variety": 25, "product": 15, "standard": 10, "software": 10},
    "village": {"equipment": 30, "procedure": 30, "software": 20, "standard": 20},
    "rural_industry": {"procedure": 30, "product": 30, "equipment": 20, "standard": 10, "software": 10},
    "basic": {"procedure": 40, "software": 30, "standard": 30},
}
TRL_RANGE = {"variety": (6, 9), "procedure": (5, 9), "equipment": (4, 8), "product": (4, 9), "software": (5, 9),
             "standard": (7, 9)}
TRANSFER = {
    "variety": ("licence", "transfer", "cooperation"),
    "procedure": ("cooperation", "other", "self"),
    "equipment": ("licence", "cooperation", "transfer", "equity"),
    "product": ("licence", "transfer", "equity", "self"),
    "software": ("licence", "cooperation", "other"),
    "standard": ("other", "cooperation"),
}
TRANSFER_TERMS = {
    "variety": ["品种权可独占许可或普通许可，许可费面议；提供亲本保存与制种技术指导。",
                "可转让{region}区域经营权，转让费面议，配套提供高产栽培技术培训。"],
    "procedure": ["以技术服务、现场培训方式推广，可与县级农技推广机构合作建立示范基地。",
                  "提供技术规程文本与全程技术指导，按示范面积收取技术服务费。"],
    "equipment": ["专利普通许可，许可费面议；也可合作生产，提供图纸与调试服务。",
                  "可作价入股或整体转让，提供样机试用与操作培训。"],
    "product": ["配方与工艺可许可生产，许可费按销售额提成；亦可整体转让。",
                "可与生产企业合作实施，提供工艺包与质量控制方法。"],
    "software": ["软件按年授权使用，可本地部署或云端服务，提供数据对接与培训。",
                 "源代码可合作开发，按项目定制。"],
    "standard": ["标准文本公开，可提供宣贯培训与实施指导。", "可合作开展标准宣贯与示范基地建设。"],
}
STATE_PLAN = {"draft": 12, "submitted": 10, "reviewed": 15, "published": 53, "withdrawn": 10}
RETURN_COMMENTS = ["请补充区域试验或多点示范数据后再提交。", "关键指标缺少测产依据，请上传专家测产报告。",
                   "适宜区域与试验地点不一致，请核实后修改。", "知识产权信息不完整，请补充授权号。"]
WITHDRAW_COMMENTS = ["完成单位申请撤回：技术已升级为新版本，将重新提交。", "品种审定证书已注销，按规定撤回。",
                     "经复核，关键指标的示范数据不足以支持清单收录，予以撤回。",
                     "成果转让后权属变更，由原单位申请撤回。"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"


# ------------------------------------------------------------------------------------------------ shipped data


@dataclass(frozen=True)
class Project:
    year: int
    project_no: str
    special_project: str
    title: str
    lead: str


@dataclass(frozen=True)
class SpecialProject:
    name: str
    theme: str
    tech_fields: tuple[str, ...]
    industry_types: tuple[str, ...]
    scenarios: tuple[str, ...]
    crops: tuple[str, ...]


@dataclass(frozen=True)
class Term:
    term: str
    crops: tuple[str, ...]
    industry_types: tuple[str, ...]
    scenarios: tuple[str, ...]
    land_scenarios: tuple[str, ...]
    tech_fields: tuple[str, ...]
    provinces: tuple[str, ...]  # two-digit GB/T 2260 prefixes
    land_options: tuple[str, ...]
    subjects: tuple[str, ...]


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _split(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split("|") if v)


@cache
def projects() -> tuple[Project, ...]:
    """The distinct projects (a few were announced twice)."""
    seen: dict[tuple[str, str], Project] = {}
    for r in _rows("nkrdp_agri_projects_2018_2020.csv"):
        seen.setdefault((r["project_no"], r["title"]), Project(int(r["year"]), r["project_no"],
                                                               r["special_project"], r["title"],
                                                               r["lead_institution"]))
    return tuple(seen.values())


@cache
def special_projects() -> dict[str, SpecialProject]:
    return {r["special_project"]: SpecialProject(r["special_project"], r["theme"], _split(r["tech_fields"]),
                                                 _split(r["industry_types"]), _split(r["scenarios"]),
                                                 _split(r["crops"]))
            for r in _rows("special_project_fields.csv")}


@cache
def terms() -> tuple[Term, ...]:
    # Longest first, so that 小麦-玉米 is seen before 小麦 when subjects are ordered.
    out = [Term(r["term"], _split(r["crops"]), _split(r["industry_types"]), _split(r["scenarios"]),
                _split(r["land_scenarios"]), _split(r["tech_fields"]), _split(r["provinces"]),
                _split(r["land_options"]), _split(r["subjects"])) for r in _rows("title_terms.csv")]
    return tuple(sorted(out, key=lambda t: -len(t.term)))


@cache
def institutions() -> dict[str, tuple[str, str]]:
    """Lead institution → (province prefix, telephone area code)."""
    return {r["institution"]: (r["province"], r["area_code"]) for r in _rows("demo_institutions.csv")}


# ------------------------------------------------------------------------------------------------ title profile


@dataclass(frozen=True)
class Profile:
    """What a project title says, in code-list terms."""

    project: Project
    theme: str
    basic: bool  # a mechanism/basic-research title: lower TRL, no varieties
    subjects: tuple[str, ...]
    crops: tuple[str, ...]
    industry_types: tuple[str, ...]
    scenarios: tuple[str, ...]
    land_scenarios: tuple[str, ...]
    land_options: tuple[str, ...]
    tech_fields: tuple[str, ...]
    provinces: tuple[str, ...]
    region_word: str | None
    traits: tuple[str, ...]


TRAIT_WORDS = ("抗逆", "高产", "耐瘠薄", "耐密", "抗旱", "优质", "适宜机械化", "绿色", "轻简", "节水")
BASIC_WORDS = ("机制", "机理", "调控", "理论", "基础", "分子", "响应")
THEME_SUBJECTS = {"village": ("农村人居环境",), "food_safety": ("食品",), "machinery": ("农产品",),
                  "processing": ("农产品",), "livestock": ("畜禽",), "aquaculture": ("水产品",),
                  "forestry": ("林木",), "environment": ("农田",)}


def _ordered(*groups: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for g in groups for v in g))


def analyse_title(project: Project) -> Profile:
    special = special_projects()[project.special_project]
    title = project.title
    hits = [t for t in terms() if t.term in title]
    hits.sort(key=lambda t: title.index(t.term))
    region_hits = [t for t in hits if t.provinces and not t.subjects and not t.crops]
    subjects = _ordered(*(t.subjects for t in hits)) or THEME_SUBJECTS.get(special.theme, ("农业",))
    crops = _ordered(*(t.crops for t in hits))
    # A child crop (粳稻) makes its parent (水稻) redundant as a given code.
    if {"rice_japonica", "rice_indica"} & set(crops):
        crops = tuple(c for c in crops if c != "rice")
    return Profile(
        project=project,
        theme=special.theme,
        basic=any(w in title for w in BASIC_WORDS),
        subjects=subjects,
        crops=crops,
        industry_types=_ordered(*(t.industry_types for t in hits)) or special.industry_types[:1],
        scenarios=_ordered(*(t.scenarios for t in hits)),
        land_scenarios=_ordered(*(t.land_scenarios for t in hits)),
        land_options=_ordered(*(t.land_options for t in hits)),
        tech_fields=_ordered(*(t.tech_fields for t in hits)),
        provinces=_ordered(*(t.provinces for t in hits)),
        region_word="、".join(t.term for t in region_hits[:2]) or None,
        traits=tuple(w for w in TRAIT_WORDS if w in title),
    )


@cache
def subject_term(subject: str) -> Term | None:
    for t in terms():
        if t.term == subject or (len(t.term) >= 2 and t.term in subject and t.crops + t.industry_types):
            return t
    return None


# ------------------------------------------------------------------------------------------------ the places


@dataclass
class Places:
    """Current divisions by province, read from the database so that every code validates."""

    names: dict[str, str]  # code → name
    provinces: list[str]  # six-digit province codes
    prefectures: dict[str, list[str]]  # province code → prefecture codes
    counties: dict[str, list[str]]  # province code → county codes

    @classmethod
    def load(cls, session: Session) -> Places:
        rows = session.execute(select(Division.code, Division.name, Division.level, Division.province_code)
                               .where(Division.valid_to.is_(None)).order_by(Division.code)).all()
        places = cls({}, [], {}, {})
        for code, name, level, prov in rows:
            places.names[code] = name
            if level == "province":
                places.provinces.append(code)
            elif level == "prefecture":
                places.prefectures.setdefault(prov, []).append(code)
            elif level == "county":
                places.counties.setdefault(prov, []).append(code)
        # Taiwan, Hong Kong and Macau hold no counties in the table and host no demo plots.
        places.provinces = [p for p in places.provinces if places.counties.get(p)]
        return places

    def short(self, code: str) -> str:
        name = self.names.get(code, "")
        for suffix in ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "特别行政区", "省", "市"):
            if name.endswith(suffix):
                return name[: -len(suffix)]
        return name


# ------------------------------------------------------------------------------------------------ the generator


@dataclass(frozen=True)
class PlannedStep:
    action: str
    actor: str
    at: dt.datetime
    comment: str | None = None
    list_batch: str | None = None


@dataclass
class DemoResult:
    id: str
    data: dict[str, Any]
    created_at: dt.datetime
    steps: list[PlannedStep] = field(default_factory=list)

    @property
    def final_state(self) -> str:
        state = "draft"
        for step in self.steps:
            state = STEPS[step.action].target
        return state


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _patent_no(rng: random.Random, year: int, kind: int) -> str:
    """A Chinese patent number ZL + 12 digits + check digit (weights 2..9,2..5, mod 11, 10 → X)."""
    digits = f"{year}{kind}{rng.randrange(10**6, 10**7)}"
    weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    check = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return f"ZL{digits}.{'X' if check == 10 else check}"


CROP_CHAR = {"玉米": "单", "小麦": "麦", "水稻": "优", "早稻": "早籼", "晚稻": "晚籼", "粳稻": "粳", "大豆": "豆",
             "油菜": "油", "棉花": "棉", "谷子": "谷", "高粱": "粱", "花生": "花", "马铃薯": "薯"}
APPROVAL_CHAR = {"maize": "玉", "wheat": "麦", "rice": "稻", "rice_indica": "稻", "rice_japonica": "稻",
                 "soybean": "豆", "cotton": "棉"}
CHECK_VARIETY = {"玉米": "郑单958", "小麦": "周麦18", "水稻": "黄华占", "早稻": "中嘉早17", "晚稻": "天优华占",
                 "粳稻": "龙粳31", "大豆": "中黄13", "油菜": "中油杂11", "棉花": "中棉所50", "谷子": "晋谷21号",
                 "花生": "花育33号"}
# (model prefix, machine, unit of its capacity, title word that calls for it — "" for any title)
MACHINES: dict[str, list[tuple[str, str, str, str]]] = {
    "crop": [("2BYF", "免耕施肥播种机", "亩/小时", ""), ("2ZG", "高速插秧机", "亩/小时", "稻"),
             ("3WSZ", "植保无人机", "亩/小时", ""), ("3ZF", "中耕施肥机", "亩/小时", ""),
             ("4YZP", "籽粒收获机", "亩/小时", "玉米"), ("4LZ", "联合收割机", "亩/小时", ""),
             ("5HXG", "低温循环干燥机", "吨/天", ""), ("3WPZ", "自走式喷杆喷雾机", "亩/小时", "")],
    "horti": [("3WGZ", "果园风送喷雾机", "亩/小时", ""), ("7YGS", "山地轨道运输机", "吨/小时", ""),
              ("4GZ", "采收平台", "亩/小时", ""), ("6FJ", "智能品质分级机", "吨/小时", ""),
              ("1GZ", "微耕机", "亩/小时", ""), ("2BS", "穴盘育苗播种机", "盘/小时", "")],
    "machinery": [("6QX", "低损清洗机", "吨/小时", "清洁"), ("5HRB", "热泵干燥机", "吨/天", "干燥"),
                  ("6FJ", "智能品质分级机", "吨/小时", "分级"), ("6CJZ", "智能精制生产线", "吨/天", "精制"),
                  ("7CB", "保质储运装备", "吨/天", "储运"), ("1GZ", "微耕机", "亩/小时", "丘陵"),
                  ("4LZ", "小型联合收割机", "亩/小时", "丘陵"), ("7YGS", "山地轨道运输机", "吨/小时", "丘陵")],
    "livestock": [("9FZ", "精准饲喂机", "头（只）", ""), ("9QF", "清粪机器人", "平方米/小时", ""),
                  ("9HK", "舍内环境智能控制系统", "平方米", ""), ("9ZJ", "粪污发酵罐", "吨/天", "")],
    "aquaculture": [("SXH", "循环水养殖系统", "立方米", ""), ("TS", "智能投饲机", "亩", ""), ("ZY", "增氧机", "亩", ""),
                    ("QB", "起捕装备", "吨/小时", "")],
    "processing": [("ZX", "智能化生产线", "吨/天", ""), ("SD", "速冻隧道", "吨/小时", "速冻"),
                   ("GZ", "高速灌装生产线", "瓶/小时", "灌装"), ("ZC", "成套装备", "吨/天", "")],
    "environment": [("FZ", "粪污处理装置", "吨/天", ""), ("ST", "生态拦截沟渠系统", "亩", "面源"),
                    ("TS", "土壤调理剂撒施机", "亩/小时", "")],
    "village": [("WS", "一体化污水处理设备", "吨/天", ""), ("FB", "厕所粪污处理装置", "户", "厕所"),
                ("RJ", "生活垃圾热解气化装置", "吨/天", "垃圾"), ("ZP", "装配式农房构件", "平方米/天", "建筑")],
}
PRODUCTS: dict[str, list[str]] = {
    "inputs": ["专用缓释肥", "生物有机肥", "微生物菌剂", "大量元素水溶肥", "枯草芽孢杆菌可湿性粉剂", "种子处理悬浮剂",
               "性诱剂", "土壤调理剂"],
    "environment": ["重金属钝化剂", "叶面阻控剂", "土壤调理剂", "微生物修复菌剂", "氮磷吸附基质"],
    "breeding": ["种衣剂", "种子引发剂", "杂交种亲本"],
    "cultivation": ["专用配方肥", "植物生长调节剂", "缓控释掺混肥", "叶面营养剂"],
    "livestock": ["灭活疫苗", "基因缺失活疫苗", "ELISA抗体检测试剂盒", "荧光定量PCR检测试剂盒", "复合微生态制剂",
                  "发酵饲料", "低蛋白日粮配方", "饲用植物提取物"],
    "aquaculture": ["高效配合饲料", "灭活疫苗", "微生态制剂", "水质调节剂", "苗种"],
    "processing": ["即食产品", "速冻产品", "功能性配料", "低温冷榨油", "风味调味料"],
    "food_safety": ["胶体金快速检测卡", "快速检测试剂盒", "标准物质", "核酸恒温扩增检测试剂盒"],
    "forestry": ["重组竹材", "生物农药", "容器育苗基质"],
    "rural_industry": ["特色加工产品", "地理标志产品"],
}
SOFTWARE = {
    "breeding": ["育种数据管理系统", "品种区试数据分析平台", "分子标记辅助选择软件"],
    "cultivation": ["生产智能决策系统", "苗情墒情监测平台", "水肥一体化管理平台"],
    "inputs": ["病虫害监测预警系统", "测土配方施肥决策系统", "统防统治作业管理平台"],
    "environment": ["面源污染监测评估系统", "污染农田安全利用决策平台"],
    "machinery": ["农机作业监测平台", "智能分级控制软件"],
    "livestock": ["养殖管理云平台", "疫病监测预警系统", "精准饲喂控制软件"],
    "aquaculture": ["养殖水质在线监测平台", "智能投喂决策系统"],
    "processing": ["生产过程质量追溯系统", "智能排产管理软件"],
    "food_safety": ["风险监测预警平台", "全程追溯系统", "检测数据管理系统", "应急决策支持系统"],
    "forestry": ["林业资源监测系统", "病虫害遥感监测平台"],
    "village": ["村庄规划辅助决策系统", "农村人居环境监管平台", "村镇信息服务平台"],
    "rural_industry": ["产业数字化服务平台"],
    "basic": ["表型数据分析软件", "基因组数据分析平台"],
}
TECHNIQUES = {
    "breeding": ["制种", "种子生产", "良种繁育", "种子包衣", "高产栽培配套"],
    "cultivation": ["绿色高产高效栽培", "全程机械化生产", "水肥一体化", "密植高产", "节水丰产", "轻简化栽培",
                    "周年高产", "秸秆还田地力提升"],
    "inputs": ["化肥减量增效", "农药减量控害", "有机肥替代化肥", "病虫害绿色防控", "测土配方施肥", "统防统治"],
    "environment": ["面源污染防控", "污染农田安全利用", "氮磷流失阻控", "秸秆资源化利用", "农田退水生态拦截"],
    "machinery": ["全程机械化作业", "机械化采收", "产地清洗分级", "热泵干燥"],
    "livestock": ["高效安全饲养", "疫病综合防控", "生物安全防控", "精准饲喂", "粪污资源化利用", "疫病净化"],
    "aquaculture": ["健康养殖", "生态养殖", "苗种繁育", "病害综合防控", "循环水养殖", "增殖放流"],
    "processing": ["适度加工", "保鲜贮藏", "冷链储运", "品质控制"],
    "food_safety": ["快速检测", "风险评估", "危害物识别确证", "溯源", "过程控制"],
    "forestry": ["高效培育", "定向培育", "病虫害综合防控", "抚育经营"],
    "village": ["建设", "改造", "运维管理", "资源化处理"],
    "rural_industry": ["标准化生产", "品牌培育"],
    "basic": ["表型鉴定", "分子检测", "评价"],
}
PROBLEMS = {
    "breeding": ["品种抗逆性不足", "制种产量低", "种子活力下降"],
    "cultivation": ["产量潜力发挥不足", "水肥利用率低", "用工多、成本高", "茬口衔接紧"],
    "inputs": ["化肥用量偏高", "农药过量使用", "病虫害抗药性上升"],
    "environment": ["氮磷流失", "土壤重金属超标", "农田退水污染"],
    "machinery": ["人工作业强度大", "损失率高", "能耗高"],
    "livestock": ["疫病风险高", "饲料转化率低", "养殖废弃物处理难"],
    "aquaculture": ["病害频发", "养殖尾水排放", "苗种质量不稳定"],
    "processing": ["加工损耗大", "品质不稳定", "能耗高"],
    "food_safety": ["危害物识别慢", "检测成本高", "风险预警滞后"],
    "forestry": ["林分质量不高", "病虫害频发", "培育周期长"],
    "village": ["设施运维难", "冬季低温运行不稳定", "建设成本高"],
    "rural_industry": ["产业链条短", "品牌影响力弱"],
    "basic": ["关键性状机制不清", "鉴定方法效率低"],
}
LAND_WORDS = {"SC0101": ("黑土区", "TF0201"), "SC0102": ("旱地", "TF0204"), "SC0103": ("盐碱地", "TF0202"),
              "SC0104": ("红黄壤", "TF0203")}
FIELD_THEMES = {"breeding", "cultivation", "inputs", "environment"}


class DemoGenerator:
    """Builds :class:`DemoResult` records; all randomness comes from ``random.Random(seed)``."""

    def __init__(self, seed: int, places: Places, start: int = 0) -> None:
        """``start``: results already stored — a second run then gets other ids and registration numbers."""
        self.seed = seed
        self.rng = random.Random(seed)
        self.id_rng = random.Random(f"{seed}:ids" + (f":{start}" if start else ""))
        self.places = places
        self.profiles = [analyse_title(p) for p in projects()]
        self.names: set[str] = set()
        self.serial = start
        self.leads_by_special: dict[str, list[str]] = {}
        for p in projects():
            self.leads_by_special.setdefault(p.special_project, []).append(p.lead)

    def results(self, count: int) -> Iterator[DemoResult]:
        order: list[Profile] = []
        while len(order) < count:
            batch = list(self.profiles)
            self.rng.shuffle(batch)
            order.extend(batch)
        for profile in order[:count]:
            yield self.one(profile)

    # -- one result -------------------------------------------------------------------------------------------

    def one(self, p: Profile) -> DemoResult:
        rng = self.rng
        self.serial += 1
        special = special_projects()[p.project.special_project]
        forms = FORM_WEIGHTS[p.theme] if not p.basic else FORM_WEIGHTS["basic"] | {"product": 10}
        if p.basic and p.theme in ("livestock", "aquaculture", "food_safety"):
            forms = forms | {"product": 25}
        form = rng.choices(list(forms), weights=list(forms.values()))[0]
        subject = rng.choice(p.subjects)
        sterm = subject_term(subject)
        crops = sterm.crops if sterm and sterm.crops else p.crops if sterm is None else ()
        industries = (sterm.industry_types if sterm and sterm.industry_types else p.industry_types)
        provinces = self._provinces(p, sterm)
        land = list(p.land_scenarios)
        # A field result may be the variant for one land scenario of its region (东北 → 黑土地 …).
        options = p.land_options or _ordered(*(t.land_options for t in map(self._province_term, provinces) if t))
        if not land and p.theme in FIELD_THEMES and options and rng.random() < 0.35:
            land = [rng.choice(options)]
        region = p.region_word or "、".join(self.places.short(c) for c in provinces[:2])
        land_word = LAND_WORDS[land[0]][0] if land else ""
        year = rng.randint(max(p.project.year + 1, 2019), 2025)
        name, summary, keywords, ip, figures = self._content(p, form, subject, region, provinces, land_word, year,
                                                             crops)
        tech = self._tech_fields(p, special, form, land)
        scenarios = self._scenarios(p, special, form, land)
        trl_low, trl_high = TRL_RANGE[form]
        if p.basic:
            trl_low, trl_high = 3, 6
        trl = rng.randint(trl_low, trl_high)
        stage = "early" if trl <= 4 else "middle" if trl <= 6 else "mature"
        regions = self._regions(provinces)
        # A local result belongs to a province it suits.
        source = "local" if regions and rng.random() < 0.15 else "national"
        institutions = self._institutions(p, provinces)
        lead_prov, area = institutions_info(p.project.lead)
        modes = rng.sample(TRANSFER[form], k=rng.randint(1, min(2, len(TRANSFER[form]))))
        data: dict[str, Any] = {
            "name": name,
            "summary": summary,
            "keywords": keywords,
            "special_project": p.project.special_project,
            "project_no": p.project.project_no,
            "subject_no": _subject_no(p.project.project_no, rng.randint(1, 5)),
            "institutions": institutions,
            "people": [],
            "tech_fields": tech,
            "industry_types": list(industries[:3]),
            "scenarios": scenarios,
            "crops": list(crops[:3]),
            "land_scenarios": land,
            "transfer_modes": modes,
            "form": form,
            "stage": stage,
            "trl": trl,
            "trl_scale": DEFAULT_TRL_SCALE,
            "ip": ip,
            "registration_no": (f"{lead_prov}{year}{FORM_LETTER[form]}{self.serial:06d}"
                                if rng.random() < 0.92 else None),
            "suitable_regions": regions,
            "key_figures": figures,
            "transfer_terms": rng.choice(TRANSFER_TERMS[form]).format(region=region),
            "contact_name": rng.choice([f"{rng.choice(SURNAMES)}老师", f"{p.project.lead}科技处",
                                        f"{p.project.lead}成果转化办公室"]),
            "contact_phone": f"{area}-{rng.randint(5, 8)}{rng.randrange(10**6, 10**7)}",
            "contact_email": f"tt{self.serial:05d}@example.org" if rng.random() < 0.6 else None,
            "source": source,
            "source_province": f"{regions[0][:2]}0000" if source == "local" else None,
        }
        created = HISTORY_START + dt.timedelta(
            seconds=rng.randrange(int((HISTORY_END - HISTORY_START).total_seconds() * 0.8)))
        return DemoResult(_uuid(self.id_rng), data, created, self._plan(created, data))

    # -- parts ------------------------------------------------------------------------------------------------

    def _provinces(self, p: Profile, sterm: Term | None) -> list[str]:
        rng = self.rng
        prefixes = list(p.provinces or (sterm.provinces if sterm else ()))
        lead_prov = institutions_info(p.project.lead)[0]
        if not prefixes:
            others = [c[:2] for c in self.places.provinces if c[:2] != lead_prov]
            prefixes = [lead_prov, *rng.sample(others, k=rng.randint(1, 3))] if others else [lead_prov]
        known = [f"{x}0000" for x in prefixes if f"{x}0000" in self.places.names]
        if not known:
            return []
        k = min(len(known), rng.randint(1, 4))
        return [known[0], *rng.sample(known[1:], k=k - 1)] if rng.random() < 0.5 else rng.sample(known, k=k)

    def _province_term(self, code: str) -> Term | None:
        short = self.places.short(code)
        return next((t for t in terms() if t.term == short), None)

    def _regions(self, provinces: list[str]) -> list[str]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.5 or not provinces:
            return list(provinces)
        pool_kind = self.places.prefectures if roll < 0.8 else self.places.counties
        pool = [c for prov in provinces for c in pool_kind.get(prov, [])]
        if not pool:
            return list(provinces)
        return sorted(rng.sample(pool, k=min(len(pool), rng.randint(2, 8))))

    def _tech_fields(self, p: Profile, special: SpecialProject, form: str, land: list[str]) -> list[str]:
        primary = special.tech_fields[0]
        if form == "equipment" and primary not in ("TF10", "TF12"):
            primary = "TF06"
        elif form == "software" and primary != "TF10":
            primary = "TF07"
        elif form == "variety":
            primary = "TF01"
        rest = [*(LAND_WORDS[c][1] for c in land), *p.tech_fields, *special.tech_fields[1:]]
        out = list(dict.fromkeys([primary, *rest]))
        return out[: 1 + self.rng.randint(1, 2)]

    def _scenarios(self, p: Profile, special: SpecialProject, form: str, land: list[str]) -> list[str]:
        rng = self.rng
        chain = {"variety": ["SC0401"], "equipment": [rng.choice(["SC0402", "SC0403", "SC0404", "SC0405"])],
                 "product": ["SC0404"], "procedure": ["SC0404"], "software": ["SC0404"], "standard": []}[form]
        if p.theme in ("processing", "food_safety"):
            chain = [rng.choice(["SC0406", "SC0407", "SC0408"])]
        adopter = rng.sample(["SC0501", "SC0502", "SC0503", "SC0504"], k=rng.randint(1, 2))
        pool = list(dict.fromkeys([*land, *p.scenarios, *special.scenarios]))
        picked = rng.sample(pool, k=min(len(pool), rng.randint(1, 3)))
        return list(dict.fromkeys([*land, *picked, *chain, *adopter]))

    def _institutions(self, p: Profile, provinces: list[str]) -> list[str]:
        rng = self.rng
        partners: list[str] = []
        peers = [i for i in self.leads_by_special[p.project.special_project] if i != p.project.lead]
        if peers:
            partners.append(rng.choice(peers))
        if p.theme in AGRI_THEMES and provinces:
            prov = rng.choice(provinces)
            partners.append(ACADEMY.get(prov[:2], f"{self.places.names[prov]}农业科学院"))
            counties = self.places.counties.get(prov, [])
            if counties and rng.random() < 0.5:
                kind = "水产技术推广站" if p.theme == "aquaculture" else "农业技术推广中心"
                partners.append(f"{self.places.names[rng.choice(counties)]}{kind}")
        rng.shuffle(partners)
        return [p.project.lead, *partners[: rng.randint(1, 3)]]

    def _plan(self, created: dt.datetime, data: dict[str, Any]) -> list[PlannedStep]:
        rng = self.rng
        target = rng.choices(list(STATE_PLAN), weights=list(STATE_PLAN.values()))[0]
        at = created
        steps: list[PlannedStep] = []

        def step(action: str, actor: str, **kw: Any) -> None:
            nonlocal at
            at = min(at + dt.timedelta(days=rng.randint(2, 45), minutes=rng.randint(0, 600)), HISTORY_END)
            steps.append(PlannedStep(action, actor, at, **kw))

        if target == "draft":
            if rng.random() < 0.35:  # submitted once and returned by the reviewer
                step("submit", HOLDER)
                step("return", REVIEWER, comment=rng.choice(RETURN_COMMENTS))
            return steps
        step("submit", HOLDER)
        if target == "submitted":
            return steps
        step("approve", REVIEWER)
        if target == "reviewed" or (target == "withdrawn" and rng.random() < 0.3):
            if target == "withdrawn":
                step("withdraw", REVIEWER, comment=rng.choice(WITHDRAW_COMMENTS))
            return steps
        step("publish", PUBLISHER, list_batch="")  # batch named from the publish date below
        publish = steps[-1]
        quarter = (publish.at.month - 1) // 3 + 1
        batch = f"{publish.at.year}年第{quarter}期"
        if data["source"] == "local" and data["source_province"]:
            batch = f"{self.places.names[data['source_province']]}{batch}"
        steps[-1] = PlannedStep(publish.action, publish.actor, publish.at, list_batch=batch)
        if target == "withdrawn":
            step("withdraw", PUBLISHER, comment=rng.choice(WITHDRAW_COMMENTS))
        return steps

    # -- names and texts --------------------------------------------------------------------------------------

    def _content(self, p: Profile, form: str, subject: str, region: str, provinces: list[str], land_word: str,
                 year: int, crops: Sequence[str]
                 ) -> tuple[str, str, list[str], dict[str, list[str]], list[dict[str, Any]]]:
        rng = self.rng
        theme = p.theme
        techniques = TECHNIQUES[theme] + (TECHNIQUES["basic"] if p.basic else [])
        problem = rng.choice(PROBLEMS[theme] + (PROBLEMS["basic"] if p.basic else []))
        lead = p.project.lead
        prov_names = "、".join(self.places.short(c) for c in provinces[:3]) or region
        where = f"{region}{land_word}" if land_word else region
        ip: dict[str, list[str]] = {}
        figures: list[dict[str, Any]] = []
        demo_area = round(rng.uniform(0.5, 120), 1)
        county = self._a_county(provinces)
        for attempt in range(8):
            technique = rng.choice(techniques)
            if form == "variety":
                name, summary, ip, figures = self._variety(p, subject, where, year, crops, county)
            elif form == "procedure":
                suffix = rng.choice(["技术规程", "技术模式", "集成技术", "技术规程"])
                name = f"{where}{subject}{technique}{suffix}"
                effect, figures = self._procedure_effect(theme, year, county, demo_area)
                summary = (f"针对{where}{subject}生产中{problem}等问题，{lead}等单位集成"
                           f"{'、'.join(rng.sample(techniques, k=2))}等关键技术，"
                           f"形成{name}。{year}年以来在{prov_names}等地{effect}")
                if rng.random() < 0.4:
                    ip = {"standards": [self._standard_no(p, year)]}
            elif form == "equipment":
                name, summary, ip, figures = self._equipment(p, subject, where, year, county)
            elif form == "product":
                name, summary, ip, figures = self._product(p, theme, subject, where, year, county)
            elif form == "software":
                system = rng.choice(SOFTWARE[theme] + (SOFTWARE["basic"] if p.basic else []))
                version = f"V{rng.randint(1, 4)}.{rng.randint(0, 9)}"
                name = f"{subject}{system}{version}"
                users = rng.randint(30, 3000)
                summary = (f"面向{where}{subject}生产与管理，{lead}研发的{system}集成数据采集、分析预警和决策服务"
                           f"等功能，"
                           f"支持手机和电脑使用。已在{prov_names}等地部署应用，服务用户{users}家，"
                           f"覆盖面积{demo_area}万亩。")
                ip = {"software": [f"{year}SR{rng.randrange(10**6, 10**7):07d}"]}
                figures = [_fig("服务用户", users, "家", "平台运行记录"),
                           _fig("预警准确率", round(rng.uniform(80, 96), 1), "%", "第三方测试报告")]
            else:  # standard
                kind = rng.choice(["技术规范", "技术规程", "生产技术规程", "质量分级"])
                name = f"{subject}{technique}{kind}"
                number = self._standard_no(p, year)
                name = f"{number} {name}" if attempt else name
                summary = (f"本标准规定了{subject}{technique}的术语和定义、基本要求、技术要点和记录档案，"
                           f"适用于{where}{subject}生产与管理。由{lead}牵头起草，{year}年发布实施（{number}）。")
                ip = {"standards": [number]}
                figures = [_fig("推广应用面积", demo_area, "万亩", "标准实施情况调查")]
            if name not in self.names:
                break
            region_alt = self.places.short(rng.choice(self.places.provinces)) if self.places.provinces else ""
            where = f"{region_alt}{land_word}" if rng.random() < 0.5 else where
        self.names.add(name)
        if rng.random() < 0.5 and form in ("equipment", "product", "procedure"):
            ip.setdefault("patents", []).append(_patent_no(rng, year - rng.randint(0, 2), rng.choice([1, 1, 2])))
        keywords = list(dict.fromkeys(k for k in [subject, technique, region.split("、")[0], land_word,
                                                  FORM_LABEL[form]] if k))
        return name, summary, keywords, ip, figures

    def _procedure_effect(self, theme: str, year: int, county: str, area: float
                          ) -> tuple[str, list[dict[str, Any]]]:
        """The sentence of what a procedure achieved, and its key figures, in the units of its theme."""
        rng = self.rng
        gain, save, pct = round(rng.uniform(4, 15), 1), rng.randint(40, 180), round(rng.uniform(10, 30), 1)
        n = rng.randint(12, 400)
        if theme == "livestock":
            return (f"{n}个规模养殖场应用，成活率提高{gain}%，每头增收{save}元。",
                    [_fig("成活率提高", gain, "%", f"{year}年{county}养殖场对比"),
                     _fig("增收", save, "元/头", "养殖场记录")])
        if theme == "aquaculture":
            return (f"示范养殖{area}万亩，成活率提高{gain}%，亩增收{save * 5}元。",
                    [_fig("成活率提高", gain, "%", f"{year}年{county}示范基地测产"),
                     _fig("增收", save * 5, "元/亩", "示范户收益调查")])
        if theme in ("processing", "food_safety", "rural_industry"):
            return (f"{n}家企业应用，损耗降低{pct}%，年增效{round(area * 30)}万元。",
                    [_fig("损耗降低", pct, "%", "企业应用证明"), _fig("应用企业", n, "家", "应用证明")])
        if theme == "village":
            return (f"{n}个村庄应用，处理达标率{round(rng.uniform(85, 99), 1)}%，户均运行成本{save}元/年。",
                    [_fig("应用村庄", n, "个", "县级主管部门证明"), _fig("运行成本", save, "元/户·年", "运维记录")])
        figures = [_fig("增产", gain, "%", f"{year}年{county}示范区专家实收测产"),
                   _fig("节本", save, "元/亩", "示范户成本收益调查")]
        text = f"累计示范推广{area}万亩，平均增产{gain}%，亩节本{save}元。"
        if theme in ("inputs", "environment"):
            figures.append(_fig("化肥减量", pct, "%", "与农户习惯施肥对比"))
            text += f"化肥用量减少{pct}%。"
        return text, figures

    def _a_county(self, provinces: list[str]) -> str:
        provs = [p for p in provinces if self.places.counties.get(p)]
        if not provs:
            return "示范县"
        prov = self.rng.choice(provs)
        return self.places.names[self.rng.choice(self.places.counties[prov])]

    def _variety(self, p: Profile, subject: str, where: str, year: int, crops: Sequence[str], county: str
                 ) -> tuple[str, str, dict[str, list[str]], list[dict[str, Any]]]:
        rng = self.rng
        prov = institutions_info(p.project.lead)[0]
        abbr = PROVINCE_ABBR.get(prov, "中")
        traits = "".join(rng.sample(list(p.traits), k=min(2, len(p.traits)))) or rng.choice(
            ["高产优质", "抗病高产", "优质", "早熟高产", "耐密抗倒"])
        number = rng.randint(100, 999)
        ip: dict[str, list[str]] = {}
        if p.theme == "livestock":
            variety = f"{abbr}{subject}{rng.choice(['配套系', '新品系'])}{number % 10 + 1}号"
            name = f"{variety}"
            gain = round(rng.uniform(5, 15), 1)
            summary = (f"{p.project.lead}等单位以地方品种为素材选育的{variety}，生长速度快、繁殖性能好、"
                       f"肉质优良。在{where}规模化养殖场示范，日增重提高{gain}%，料重比降低{round(gain / 2, 1)}%。")
            ip = {"approvals": [f"农{year % 100:02d}新品种证字第{rng.randint(1, 30)}号"]}
            return name, summary, ip, [_fig("日增重提高", gain, "%", f"{year}年{county}养殖场生产性能测定")]
        if p.theme == "aquaculture":
            variety = f"{subject}“{abbr}{rng.choice(['海', '科', '优', '丰'])}{number % 20 + 1}号”"
            name = f"{variety}新品种"
            gain = round(rng.uniform(10, 35), 1)
            summary = (f"以{subject}为对象，经连续多代群体选育获得的新品种，生长速度比未经选育群体提高{gain}%，"
                       f"成活率高、抗逆性强，适宜在{where}养殖。")
            ip = {"approvals": [f"GS-01-{rng.randint(1, 20):03d}-{year}"]}
            return name, summary, ip, [_fig("生长速度提高", gain, "%", "全国水产原种和良种审定委员会审定材料")]
        if p.theme == "forestry":
            variety = f"{subject}‘{abbr}林{number % 50 + 1}号’"
            name = f"{variety}良种"
            gain = round(rng.uniform(10, 30), 1)
            summary = (f"{p.project.lead}选育的{subject}良种，材积生长量比对照提高{gain}%，抗病虫能力强，"
                       f"适宜在{where}营造用材林和生态林。")
            ip = {"approvals": [f"国S-SC-{rng.choice(['PB', 'EU', 'CL', 'PM'])}-{rng.randint(1, 40):03d}-{year}"]}
            return name, summary, ip, [_fig("材积生长量提高", gain, "%", "区域试验林调查")]
        char = CROP_CHAR.get(subject, subject[:1])
        variety = f"{abbr}{char}{number}" if subject in CROP_CHAR else f"{abbr}{subject[:1]}{number % 100 + 1}号"
        name = f"{traits}{subject}新品种{variety}"
        check = CHECK_VARIETY.get(subject, "当地主栽品种")
        yield_kg = {"玉米": (620, 850), "小麦": (480, 650), "水稻": (560, 720), "粳稻": (580, 720),
                    "早稻": (420, 520), "晚稻": (480, 600), "大豆": (180, 260), "油菜": (160, 230),
                    "棉花": (110, 150), "谷子": (280, 420), "花生": (300, 420)}.get(subject, (800, 3500))
        yld = round(rng.uniform(*yield_kg), 1)
        gain = round(rng.uniform(3.5, 12.8), 1)
        crop = crops[0] if crops else None
        if crop in APPROVAL_CHAR:
            level = rng.random() < 0.5
            approval = (f"国审{APPROVAL_CHAR[crop]}{year}{rng.randint(1, 600):04d}" if level
                        else f"{abbr}审{APPROVAL_CHAR[crop]}{year}{rng.randint(1, 80):04d}")
            ip["approvals"] = [approval]
            approved = f"{year}年通过{'国家' if level else '省级'}审定（{approval}）"
        else:
            approval = f"GPD{subject}({year}){prov}{rng.randint(1, 400):04d}"
            ip["approvals"] = [approval]
            approved = f"{year}年获得非主要农作物品种登记（{approval}）"
        if rng.random() < 0.6:
            ip["variety_rights"] = [f"CNA{year - 1}{rng.randint(1000, 9999)}.{rng.randint(0, 9)}"]
        seasons = {"玉米": "春播或夏播", "小麦": "秋播", "早稻": "早稻", "晚稻": "晚稻", "大豆": "春播或夏播"}
        summary = (f"{variety}由{p.project.lead}等单位选育，{approved}。{year - 2}—{year - 1}年参加区域试验，"
                   f"平均亩产{yld}公斤，较对照{check}增产{gain}%。该品种{traits}，综合抗性好，"
                   f"适宜{where}{seasons.get(subject, '')}种植，亩产较对照增产{gain}%。")
        figures = [_fig("亩产", yld, "kg/亩", f"{year - 2}—{year - 1}年区域试验"),
                   _fig("增产", gain, "%", f"较对照{check}，{county}示范田实收测产")]
        return name, summary, ip, figures

    def _equipment(self, p: Profile, subject: str, where: str, year: int, county: str
                   ) -> tuple[str, str, dict[str, list[str]], list[dict[str, Any]]]:
        rng = self.rng
        kind = p.theme if p.theme in MACHINES else "crop"
        if kind == "crop" and (not p.crops or set(p.crops) & {"fruit", "vegetables", "tea"}):
            kind = "horti"
        fitting = [m for m in MACHINES[kind] if m[3] and m[3] in p.project.title]
        code, machine, unit, _word = rng.choice(fitting or [m for m in MACHINES[kind] if not m[3]] or MACHINES[kind])
        model = f"{code}-{rng.randint(1, 12)}{rng.choice(['', 'A', 'B', 'Z'])}型"
        name = f"{model}{subject}{machine}"
        eff = round(rng.uniform(3, 25), 1)
        save = rng.randint(30, 160)
        label = "作业效率" if "/" in unit and unit.startswith("亩") else "处理能力" if "/" in unit else "适用规模"
        summary = (f"{p.project.lead}针对{where}{subject}生产需求研制的{machine}，{label}{eff}{unit}，"
                   f"关键部件采用模块化设计，运行稳定、维护方便。{year}年在{county}等地试验鉴定，"
                   f"较传统方式节约成本{round(save / 5, 1)}%，已小批量生产。")
        ip = {"patents": [_patent_no(rng, year - 1, 1), _patent_no(rng, year - 1, 2)]}
        return name, summary, ip, [_fig(label, eff, unit, "鉴定或检测报告"),
                                   _fig("节约成本", round(save / 5, 1), "%", "用户使用报告")]

    def _product(self, p: Profile, theme: str, subject: str, where: str, year: int, county: str
                 ) -> tuple[str, str, dict[str, list[str]], list[dict[str, Any]]]:
        rng = self.rng
        kind = rng.choice(PRODUCTS.get(theme, PRODUCTS["inputs"]))
        series = f"{rng.choice('ABCDHKSY')}{rng.randint(1, 99)}"
        if kind in ("专用缓释肥", "专用配方肥", "缓控释掺混肥"):
            n, p2, k = rng.randint(18, 30), rng.randint(6, 15), rng.randint(6, 15)
            name = f"{subject}{kind}（{n}-{p2}-{k}）"
        elif "疫苗" in kind:
            name = f"{subject}{rng.choice(['主要病原', '重要病毒性疫病', '细菌性疫病'])}{kind}（{series}株）"
        else:
            name = f"{subject}{kind}{series}"
        effect = round(rng.uniform(5, 30), 1)
        if theme == "food_safety":
            minutes = rng.randint(8, 40)
            summary = (f"用于{subject}中{rng.choice(['农药残留', '兽药残留', '生物毒素', '致病菌', '非法添加物'])}"
                       f"的现场快速筛查，{minutes}分钟出结果，检出限满足国家标准限量要求，与确证方法符合率"
                       f"{round(rng.uniform(92, 99.5), 1)}%。已在{where}市场监管与企业自检中应用。")
            figures = [_fig("检测时间", minutes, "分钟", "第三方验证报告")]
        elif theme in ("livestock", "aquaculture"):
            use = rng.choice(["疫病防控", "健康养殖", "营养调控"])
            summary = (f"{p.project.lead}研制的{kind}，用于{subject}{use}。"
                       f"在{where}养殖场应用，发病率降低{effect}%，成活率提高{round(effect / 3, 1)}%。")
            figures = [_fig("发病率降低", effect, "%", f"{year}年{county}养殖场对比试验")]
        elif theme in ("processing", "rural_industry", "forestry"):
            process = rng.choice(["低温", "非热杀菌", "酶法", "微波", "超高压"])
            summary = (f"以{subject}为原料，采用{process}等工艺开发的{kind}，"
                       f"产品品质稳定，货架期延长{rng.randint(30, 180)}天，加工损耗降低{effect}%。")
            figures = [_fig("加工损耗降低", effect, "%", "企业生产记录")]
        else:
            summary = (f"针对{where}{subject}生产，{p.project.lead}研制的{kind}，施用方便、效果稳定。"
                       f"田间试验表明，在减少化肥农药用量{effect}%的条件下产量不降低，亩节本{rng.randint(20, 90)}元。")
            figures = [_fig("化肥农药减量", effect, "%", f"{year}年{county}田间试验")]
        return name, summary, {}, figures

    def _standard_no(self, p: Profile, year: int) -> str:
        rng = self.rng
        prefix = {"aquaculture": "SC/T", "forestry": "LY/T", "food_safety": "GB/T", "processing": "NY/T",
                  "village": "T/CECS"}.get(p.theme, "NY/T")
        if rng.random() < 0.4:
            return f"DB{institutions_info(p.project.lead)[0]}/T {rng.randint(1000, 4999)}-{year}"
        return f"{prefix} {rng.randint(1000, 4999)}-{year}"


FORM_LETTER = {"variety": "V", "procedure": "P", "equipment": "E", "product": "Q", "software": "S", "standard": "B"}
FORM_LABEL = {"variety": "新品种", "procedure": "技术规程", "equipment": "装备", "product": "产品", "software": "软件",
              "standard": "标准"}


def institutions_info(name: str) -> tuple[str, str]:
    return institutions().get(name, ("11", "010"))


def _subject_no(project_no: str, k: int) -> str:
    # 2018YFD0100100 → 2018YFD0100101 (subject k of the project); SQ application numbers get two digits appended.
    return f"{project_no[:-2]}{k:02d}" if project_no.endswith("00") else f"{project_no}{k:02d}"


def _fig(name: str, value: float, unit: str, evidence: str) -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "evidence": evidence}


# ------------------------------------------------------------------------------------------------ storing


@dataclass
class SeedReport:
    results: int = 0
    by_state: Counter[str] = field(default_factory=Counter)
    by_form: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


class DemoClock:
    """Stamps the times and ids of what a seeding session writes, so the demo's history is deterministic.

    The domain functions stamp ``utcnow()`` and random event ids; during seeding a ``before_flush`` hook
    replaces them with the planned time of the step being taken and ids derived from the seed.
    """

    def __init__(self, seed: int, start: int = 0) -> None:
        self.key = f"{seed}:{start}" if start else str(seed)
        self.now = HISTORY_START
        self.events = 0

    def event_id(self) -> str:
        self.events += 1
        return str(uuid.uuid5(EVENT_NAMESPACE, f"{self.key}:event:{self.events}"))

    def _before_flush(self, session: Session, _ctx: Any, _instances: Any) -> None:
        for obj in session.new:
            if isinstance(obj, ResultEvent):
                obj.id = obj.id or self.event_id()
                obj.at = self.now
            elif isinstance(obj, Result):
                obj.created_at = obj.updated_at = self.now
        for obj in session.dirty:
            if isinstance(obj, Result) and session.is_modified(obj, include_collections=False):
                obj.updated_at = self.now

    @contextmanager
    def installed(self, session: Session) -> Iterator[DemoClock]:
        event.listen(session, "before_flush", self._before_flush)
        try:
            yield self
        finally:
            event.remove(session, "before_flush", self._before_flush)


def result_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Result)) or 0)


def seed_results(session: Session, count: int, seed: int = 42) -> SeedReport:
    """Create ``count`` demo results through ``create_result`` and ``transition``; flushes, never commits."""
    import time

    started = time.perf_counter()
    start = result_count(session)
    generator = DemoGenerator(seed, Places.load(session), start)
    clock = DemoClock(seed, start)
    report = SeedReport()
    with clock.installed(session):
        for item in generator.results(count):
            clock.now = item.created_at
            result = create_result(session, item.data, HOLDER, result_id=item.id)
            for step in item.steps:
                clock.now = step.at
                transition(session, result, step.action, step.actor, comment=step.comment,
                           list_batch=step.list_batch)
            report.results += 1
            report.by_state[result.state] += 1
            report.by_form[item.data["form"]] += 1
            if report.results % 200 == 0:
                session.expunge_all()  # keeps the identity map (and flush bookkeeping) small
    report.seconds = time.perf_counter() - started
    return report


# ------------------------------------------------------------------------------------------------ bulk path


@dataclass
class BulkReference:
    """What ``create_result`` looks up per record, read once: code parents and division provinces."""

    parents: dict[tuple[str, str], str]  # (list id, code) → parent code
    provinces: dict[str, str]  # division code → province code

    @classmethod
    def load(cls, session: Session) -> BulkReference:
        parents = {(lid, code): parent for lid, code, parent in session.execute(
            select(Code.list_id, Code.code, Code.parent_code).where(Code.parent_code.is_not(None)))}
        provinces = {code: prov for code, prov in session.execute(select(Division.code, Division.province_code))}
        return cls(parents, provinces)


def result_rows(item: DemoResult, ref: BulkReference, clock: DemoClock
                ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], dict[str, Any],
                           list[dict[str, Any]]]:
    """The rows ``create_result`` + ``transition`` write for ``item``: result, codes, regions, text, events.

    Mirrors ``result_store._apply``/``_apply_codes``/``index_text`` and ``lifecycle.transition``; the demo test
    compares both paths row by row, so a change there shows up as a failing test here.
    """
    from catalog.result_fields import CODE_FIELDS
    from catalog.result_store import SCALARS

    d = item.data
    row: dict[str, Any] = {k: d.get(k) for k in SCALARS}
    row["trl_scale"] = row["trl_scale"] or DEFAULT_TRL_SCALE
    row["summary"] = row["summary"] or ""
    row["lead_institution"] = row["institutions"][0] if row["institutions"] else None
    row.update(id=item.id, created_by=HOLDER, updated_by=HOLDER, created_at=item.created_at,
               updated_at=item.created_at, version=1, state="draft", review_comment=None)
    codes: list[dict[str, Any]] = []
    for fld, (dim, list_id) in CODE_FIELDS.items():
        given = list(dict.fromkeys(d.get(fld) or []))
        for pos, code in enumerate(given):
            codes.append({"result_id": item.id, "dimension": dim, "code": code, "position": pos, "implied": False})
        parents = dict.fromkeys(ref.parents[(list_id, c)] for c in given if (list_id, c) in ref.parents)
        for parent in parents:
            if parent not in given:
                codes.append({"result_id": item.id, "dimension": dim, "code": parent, "position": 100,
                              "implied": True})
    regions = [{"result_id": item.id, "division_code": c, "province_code": ref.provinces[c]}
               for c in dict.fromkeys(d.get("suitable_regions") or [])]
    body = " ".join([row["summary"], *(row["keywords"] or [])])
    text = {"result_id": item.id, "name_tokens": " ".join(tokens(row["name"])),
            "body_tokens": " ".join(tokens(body))}
    events = [{"id": clock.event_id(), "result_id": item.id, "action": "create", "from_state": None,
               "to_state": "draft", "actor": HOLDER, "comment": None, "at": item.created_at}]
    for step in item.steps:
        target = STEPS[step.action].target
        events.append({"id": clock.event_id(), "result_id": item.id, "action": step.action,
                       "from_state": row["state"], "to_state": target, "actor": step.actor,
                       "comment": step.comment, "at": step.at})
        row.update(state=target, version=row["version"] + 1, updated_at=step.at, updated_by=step.actor)
        if step.comment:
            row["review_comment"] = step.comment
        if step.action == "publish" and step.list_batch:
            row["list_batch"] = step.list_batch
    return row, codes, regions, text, events


def bulk_insert_results(session: Session, items: Sequence[DemoResult], ref: BulkReference, clock: DemoClock,
                        chunk: int = 2000) -> int:
    """Insert ``items`` with executemany, writing what the domain functions would write (see ``result_rows``).

    For the benchmark's 50,000 results only: records are not validated here, so they must come from the
    generator, whose output ``seed_results`` (the validating path) accepts.
    """
    for start in range(0, len(items), chunk):
        results, codes, regions, texts, events = [], [], [], [], []
        for item in items[start : start + chunk]:
            row, c, r, t, e = result_rows(item, ref, clock)
            results.append(row)
            codes += c
            regions += r
            texts.append(t)
            events += e
        session.execute(insert(Result), results)
        session.execute(insert(ResultCode), codes)
        if regions:
            session.execute(insert(ResultRegion), regions)
        session.execute(insert(ResultText), texts)
        session.execute(insert(ResultEvent), events)
    bump_version(session)  # core inserts skip the ORM flush hook that marks the results changed
    session.flush()
    return len(items)


# ------------------------------------------------------------------------------------------------- accounts

DEMO_PASSWORD = "yuanxian-demo"  # printed by `yuanxian seed demo`; demo databases only
DEMO_INSTITUTION = "河南省农业科学院"  # leads a 河南 wheat–maize project of the shipped project list


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: str
    scope: str | None


def demo_accounts(institution: str = DEMO_INSTITUTION) -> tuple[DemoAccount, ...]:
    """One account per role, along one real line of the network: 河南 → 郑州 → 新郑市 (an innovation county),
    the 许昌 park, a 河南 institution that holds demo results, a national reviewer and the ministry."""
    return (
        DemoAccount("demo_ministry", "农业农村部科技教育司", "ministry_officer", None),
        DemoAccount("demo_henan", "河南省农业农村厅", "province_officer", "410000"),
        DemoAccount("demo_zhengzhou", "郑州市农业农村局", "city_officer", "410100"),
        DemoAccount("demo_xinzheng", "新郑市农业农村局", "county_officer", "410184"),
        DemoAccount("demo_agent", "新郑市农技推广员", "agent", "410184"),
        DemoAccount("demo_park", "河南许昌国家农业科技园区", "park_manager", "NASTP014"),
        DemoAccount("demo_holder", institution, "result_holder", institution),
        DemoAccount("demo_reviewer", "国家成果审核专家", "reviewer", None),
    )


def demo_institution(session: Session) -> str:
    """The institution the demo result holder speaks for: 河南省农业科学院 when it holds demo results, otherwise
    the institution holding the most (so the holder always has results to edit)."""
    held = func.count(Result.id)
    rows = session.execute(select(Result.lead_institution, held).where(Result.lead_institution.is_not(None))
                           .group_by(Result.lead_institution).order_by(held.desc(), Result.lead_institution)).all()
    names = [str(name) for name, _n in rows]
    if DEMO_INSTITUTION in names or not names:
        return DEMO_INSTITUTION
    return names[0]


def seed_accounts(session: Session, password: str = DEMO_PASSWORD) -> tuple[list[DemoAccount], int]:
    """The demo accounts (those missing are created; existing ones are left as they are); flushes, never commits.

    Returns the accounts as they stand and how many were created."""
    wanted = demo_accounts(demo_institution(session))
    existing = {u.username: u for u in session.scalars(select(User).where(User.username.in_(
        [a.username for a in wanted])))}
    created = 0
    out: list[DemoAccount] = []
    for account in wanted:
        user = existing.get(account.username)
        if user is None:
            create_user(session, account.username, password, account.display_name,
                        [(account.role, account.scope)], created_by="seed")
            created += 1
            out.append(account)
        else:
            grant = user.roles[0] if user.roles else None
            out.append(DemoAccount(user.username, user.display_name, grant.role if grant else account.role,
                                   grant.scope if grant else None))
    return out, created
