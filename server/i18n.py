"""zh-CN by default, English on request (``?lang=en``, remembered in a cookie); the pages' message catalogue.

Every string a page shows comes from ``MESSAGES`` through :func:`t`; an unknown key raises, so a page that
uses a key nobody translated fails its test instead of showing the key.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Flask, Response, request

LANGS = ("zh", "en")
HTML_LANG = {"zh": "zh-CN", "en": "en"}
BEIJING = ZoneInfo("Asia/Shanghai")
COOKIE_AGE = 365 * 24 * 3600

# key → (zh, en). Placeholders use str.format names.
MESSAGES: dict[str, tuple[str, str]] = {
    # layout
    "site.name": ("科技计划成果进园入县", "S&T Results to Parks and Counties"),
    "site.tagline": ("国家科技计划农业成果目录", "Catalogue of national agricultural research results"),
    "nav.results": ("成果目录", "Results"),
    "nav.codelists": ("代码表", "Code lists"),
    "nav.apidocs": ("接口文档", "API docs"),
    "nav.main": ("主导航", "Main navigation"),
    "lang.switch": ("语言", "Language"),
    "lang.zh": ("中文", "中文"),
    "lang.en": ("English", "English"),
    "footer.text": ("“科技计划成果进园入县”行动平台", "Platform of the S&T results to parks and counties action"),
    "footer.times": ("时间均为北京时间", "All times are Beijing time"),
    "skip": ("跳到正文", "Skip to content"),
    # browser
    "browse.title": ("成果目录", "Result catalogue"),
    "search.label": ("全文检索", "Full-text search"),
    "search.placeholder": ("输入成果名称、简介或关键词，如：玉米", "Name, summary or keyword, e.g. 玉米 (maize)"),
    "search.submit": ("检索", "Search"),
    "facets.title": ("筛选", "Filter"),
    "facets.none": ("无可选项", "Nothing to choose"),
    "chips.title": ("已选条件", "Active filters"),
    "chips.remove": ("移除条件：{label}", "Remove filter: {label}"),
    "chips.pair": ("{name}：{value}", "{name}: {value}"),
    "chips.clear": ("清除全部", "Clear all"),
    "chips.query": ("检索词", "Query"),
    "count.total": ("共 {n} 项成果", "{n} results"),
    "count.range": ("第 {a}–{b} 项", "showing {a}–{b}"),
    "sort.label": ("排序", "Sort"),
    "sort.prefix": ("排序：", "Sort:"),
    "sort.relevance": ("相关度", "Relevance"),
    "sort.date": ("最近更新", "Recently updated"),
    "sort.name": ("名称", "Name"),
    "export.label": ("导出当前结果", "Export these results"),
    "export.xlsx": ("导出 Excel", "Export Excel"),
    "export.csv": ("导出 CSV", "Export CSV"),
    "empty.title": ("没有符合条件的成果", "No result matches"),
    "empty.hint": ("请尝试更换检索词或移除部分筛选条件。", "Try other words or remove some filters."),
    "page.nav": ("分页", "Pages"),
    "page.prev": ("上一页", "Previous"),
    "page.next": ("下一页", "Next"),
    "page.of": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "item.primary_field": ("主技术领域", "Primary field"),
    "item.institutions": ("完成单位", "Institutions"),
    "item.trl": ("成熟度", "TRL"),
    "item.updated": ("更新于 {when}", "Updated {when}"),
    "item.no_summary": ("（暂无简介）", "(no summary)"),
    # facets
    "facet.tech_field": ("技术领域", "Technology field"),
    "facet.industry_type": ("服务产业类型", "Industry type"),
    "facet.scenario": ("应用场景", "Application scenario"),
    "facet.crop": ("作物", "Crop"),
    "facet.land_scenario": ("耕地场景", "Land scenario"),
    "facet.transfer_mode": ("转化方式", "Transfer mode"),
    "facet.province": ("适宜省份", "Suitable province"),
    "facet.trl": ("技术成熟度", "Technology readiness"),
    "facet.form": ("成果形式", "Form"),
    "facet.source": ("成果来源", "Source"),
    "facet.state": ("状态", "State"),
    "source.national": ("国家科技计划", "National programme"),
    "source.local": ("地方", "Local"),
    "state.draft": ("草稿", "Draft"),
    "state.submitted": ("已提交", "Submitted"),
    "state.reviewed": ("已审核", "Reviewed"),
    "state.published": ("已发布", "Published"),
    "state.withdrawn": ("已撤回", "Withdrawn"),
    # result page
    "result.back": ("返回成果目录", "Back to the catalogue"),
    "result.json": ("JSON 数据", "JSON data"),
    "result.summary": ("成果简介", "Summary"),
    "result.keywords": ("关键词：", "Keywords:"),
    "result.origin": ("成果来源", "Origin"),
    "result.special_project": ("重点专项", "Key special project"),
    "result.project_no": ("项目编号", "Project number"),
    "result.subject_no": ("课题编号", "Subject number"),
    "result.institutions": ("完成单位", "Completing institutions"),
    "result.people": ("完成人", "People"),
    "result.classification": ("成果分类", "Classification"),
    "result.tech_fields": ("技术领域", "Technology fields"),
    "result.primary": ("（主）", " (primary)"),
    "result.industry_types": ("服务产业类型", "Industry types"),
    "result.scenarios": ("产业应用场景", "Application scenarios"),
    "result.crops": ("作物", "Crops"),
    "result.trl": ("技术成熟度", "Technology readiness level"),
    "result.trl_of": ("{level} 级（共 9 级，{scale}）", "level {level} of 9 ({scale})"),
    "result.stage": ("成果所处阶段", "Stage"),
    "result.form": ("成果形式", "Form"),
    "result.ip": ("知识产权", "Intellectual property"),
    "result.registration_no": ("成果登记号", "Registration number"),
    "ip.patents": ("专利", "Patents"),
    "ip.variety_rights": ("植物新品种权", "Plant variety rights"),
    "ip.approvals": ("品种审定/登记号", "Variety approvals and registrations"),
    "ip.software": ("软件著作权", "Software copyrights"),
    "ip.standards": ("标准", "Standards"),
    "result.fit": ("适用性", "Fit"),
    "result.regions": ("适宜区域", "Suitable regions"),
    "result.land_scenarios": ("耕地场景", "Land scenarios"),
    "result.key_figures": ("关键指标", "Key figures"),
    "figure.name": ("指标", "Figure"),
    "figure.value": ("数值", "Value"),
    "figure.evidence": ("依据", "Evidence"),
    "result.transfer": ("成果转化", "Transfer"),
    "result.transfer_modes": ("转化方式", "Transfer modes"),
    "result.transfer_terms": ("转化条件", "Terms"),
    "result.contact": ("联系人", "Contact"),
    "result.phone": ("联系电话", "Phone"),
    "result.email": ("电子邮箱", "E-mail"),
    "result.admin": ("管理信息", "Administration"),
    "result.source": ("成果来源", "Source"),
    "result.source_province": ("所属省份", "Province"),
    "result.list_batch": ("清单批次", "List batch"),
    "result.state": ("状态", "State"),
    "result.review_comment": ("审核意见", "Review comment"),
    "result.version": ("版本", "Version"),
    "result.created": ("创建", "Created"),
    "result.updated": ("最近更新", "Last updated"),
    "result.by": ("{when}，{who}", "{when} by {who}"),
    "result.history": ("状态与操作记录", "State and history"),
    "history.at": ("时间", "Time"),
    "history.action": ("操作", "Action"),
    "history.states": ("状态变化", "State change"),
    "history.actor": ("操作人", "By"),
    "history.comment": ("意见", "Comment"),
    "history.none": ("暂无记录", "No events yet"),
    "action.create": ("创建", "Created"),
    "action.edit": ("编辑", "Edited"),
    "action.submit": ("提交", "Submitted"),
    "action.return": ("退回修改", "Returned"),
    "action.approve": ("审核通过", "Approved"),
    "action.publish": ("发布", "Published"),
    "action.withdraw": ("撤回", "Withdrawn"),
    "none": ("—", "—"),
    "unknown_code": ("{code}（未知代码）", "{code} (unknown code)"),
    # code lists
    "codelists.title": ("代码表", "Code lists"),
    "codelists.intro": ("成果分类所用的代码表。停用的代码保留，以便旧记录仍可读。",
                        "The code lists that classify results. Retired codes are kept so that old records still read."),
    "codelists.contents": ("目录", "Contents"),
    "codelists.version": ("第 {v} 版", "version {v}"),
    "codelists.count": ("{n} 个代码", "{n} codes"),
    "codelists.code": ("代码", "Code"),
    "codelists.name_zh": ("中文名称", "Chinese name"),
    "codelists.name_en": ("英文名称", "English name"),
    "codelists.since": ("启用版本", "Since"),
    "codelists.notes": ("说明", "Notes"),
    "codelists.retired": ("已停用（第 {v} 版）", "retired (version {v})"),
    "codelists.json": ("JSON 接口", "JSON API"),
    "extra.gb4754": ("国民经济行业分类 {v}", "GB/T 4754-2017 class {v}"),
    "extra.industry_type": ("对应产业类型 {v}", "industry type {v}"),
    "extra.standard_moisture": ("标准含水率 {v}%", "standard moisture {v}%"),
    "extra.scale": ("依据 {v}", "scale {v}"),
    "extra.unverified": ("取值待核实", "value not verified"),
    # API docs
    "apidocs.title": ("接口文档", "API documentation"),
    "apidocs.intro": ("平台 JSON 接口说明，由 OpenAPI 文档生成。",
                      "The platform's JSON API, from its OpenAPI document."),
    "apidocs.raw": ("OpenAPI 文档（JSON）", "OpenAPI document (JSON)"),
    "apidocs.noscript": ("此页面需要 JavaScript 来展示接口列表；也可直接阅读 OpenAPI 文档。",
                         "This page needs JavaScript to list the endpoints; the OpenAPI document reads as is."),
    "apidocs.loading": ("正在加载接口说明……", "Loading the API description…"),
    "apidocs.failed": ("接口说明加载失败", "Could not load the API description"),
    "apidocs.parameters": ("参数", "Parameters"),
    "apidocs.request": ("请求体", "Request body"),
    "apidocs.responses": ("响应", "Responses"),
    "apidocs.schemas": ("数据结构", "Schemas"),
    "apidocs.required": ("必填", "required"),
    "apidocs.none": ("无", "none"),
    "apidocs.in": ("位置", "In"),
    "apidocs.name": ("名称", "Name"),
    "apidocs.type": ("类型", "Type"),
    "apidocs.description": ("说明", "Description"),
    # sign-in, accounts, devices
    "nav.account": ("账号", "Account"),
    "nav.login": ("登录", "Sign in"),
    "nav.logout": ("退出", "Sign out"),
    "nav.accounts": ("账号管理", "Accounts"),
    "nav.devices": ("设备与令牌", "Devices and tokens"),
    "list.sep": ("、", ", "),
    "login.title": ("登录", "Sign in"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Sign in"),
    "login.hint": ("连续输错密码将被暂时禁止登录。账号由上级管理员开通。",
                   "Repeated wrong passwords lock sign-in for a while. Accounts are opened by the officer above you."),
    "logout.title": ("退出登录", "Sign out"),
    "logout.question": ("确定要退出登录吗？", "Sign out now?"),
    "logout.submit": ("退出", "Sign out"),
    "logout.cancel": ("取消", "Cancel"),
    "accounts.title": ("账号管理", "Accounts"),
    "accounts.intro": ("本辖区的账号。您可以管理辖区以下的账号：新建、停用或启用、重置密码、调整角色。",
                       "The accounts in your scope. You manage those below you: create, disable or enable, reset "
                       "passwords, change roles."),
    "accounts.search": ("用户名或姓名", "Username or name"),
    "accounts.count": ("共 {n} 个账号", "{n} accounts"),
    "accounts.new": ("新建账号", "New account"),
    "accounts.create": ("新建", "Create"),
    "accounts.created": ("已新建账号 {username}", "Account {username} created"),
    "account.username": ("用户名", "Username"),
    "account.display_name": ("姓名或单位", "Name"),
    "account.password": ("初始密码（至少10个字符）", "Initial password (10 characters or more)"),
    "account.new_password": ("新密码（至少10个字符）", "New password (10 characters or more)"),
    "account.role": ("角色", "Role"),
    "account.roles": ("角色", "Roles"),
    "account.scope": ("范围", "Scope"),
    "account.scope_hint": ("区划代码（如 410184）、园区编号（如 NASTP014）或单位名称；全国范围留空",
                           "A division code (e.g. 410184), a park id (e.g. NASTP014) or an institution; "
                           "empty for nationwide"),
    "account.state": ("状态", "State"),
    "account.active": ("启用", "Active"),
    "account.disabled": ("已停用", "Disabled"),
    "account.read_only": ("（不在您管辖之下）", "(not below you)"),
    "account.not_manageable": ("该账号不在您的管辖范围之下，只能查看。",
                               "This account is not below you: you may only view it."),
    "account.created": ("创建", "Created"),
    "account.manage": ("管理", "Manage"),
    "account.save": ("保存", "Save"),
    "account.saved": ("已保存", "Saved"),
    "account.disable": ("停用账号", "Disable the account"),
    "account.enable": ("启用账号", "Enable the account"),
    "account.disabled_msg": ("账号已停用，其会话与令牌随即失效",
                             "Account disabled: its sessions and tokens stop working"),
    "account.enabled": ("账号已启用", "Account enabled"),
    "account.reset_password": ("重置密码", "Reset the password"),
    "account.password_reset": ("密码已重置，该账号的网页会话已失效",
                               "Password reset: the account's web sessions ended"),
    "account.add_role": ("添加角色", "Add the role"),
    "account.remove_role": ("移除", "Remove"),
    "account.role_added": ("已添加角色", "Role added"),
    "account.role_removed": ("已移除角色", "Role removed"),
    "devices.title": ("设备与令牌", "Devices and tokens"),
    "devices.intro": ("外业设备由推广员在联网时用账号登记；接口令牌用于脚本调用。丢失的设备请立即撤销。",
                      "Field kits are enrolled by agents with their account while online; API tokens serve scripts. "
                      "Revoke a lost device at once."),
    "devices.devices": ("外业设备", "Field-kit devices"),
    "devices.tokens": ("我的接口令牌", "My API tokens"),
    "devices.name": ("名称", "Name"),
    "devices.owner": ("账号", "Account"),
    "devices.created": ("登记时间", "Enrolled"),
    "devices.last_used": ("最近使用", "Last used"),
    "devices.state": ("状态", "State"),
    "devices.live": ("有效", "Live"),
    "devices.revoked_by": ("已由 {who} 于 {when} 撤销", "Revoked by {who} on {when}"),
    "devices.revoke": ("撤销", "Revoke"),
    "devices.revoked": ("已撤销：{name}", "Revoked: {name}"),
    "devices.none": ("暂无", "None yet"),
    # matchmaking events and intents (server/web/event_pages.py)
    "nav.events": ("对接活动", "Matchmaking"),
    "events.title": ("对接活动", "Matchmaking events"),
    "events.intro": ("现场对接会与网络展会：展示已发布的科技成果，园区和县报名参加并登记对接意向。",
                     "On-site matchmaking and online exhibitions: published results on show; parks and counties "
                     "take part and register their intents."),
    "events.filter": ("筛选活动", "Filter events"),
    "events.kind": ("类型：", "Kind:"),
    "events.state": ("状态：", "State:"),
    "events.all": ("全部", "All"),
    "events.counts": ("展示成果 {results} 项 · 参加园区和县 {sites} 个", "{results} results on show · {sites} sites"),
    "events.none": ("暂无对接活动", "No events yet"),
    "event_kind.onsite": ("现场对接", "On-site matchmaking"),
    "event_kind.online": ("网络展会", "Online exhibition"),
    "event_state.planned": ("筹备中", "Planned"),
    "event_state.open": ("进行中", "Open"),
    "event_state.closed": ("已结束", "Closed"),
    "event.back": ("全部对接活动", "All events"),
    "event.national": ("全国", "National"),
    "event.dates": ("时间", "Dates"),
    "event.date_range": ("{start} 至 {end}", "{start} to {end}"),
    "event.place": ("地点", "Place"),
    "event.organiser": ("主办单位", "Organiser"),
    "event.showcase_link": ("成果展示页（可打印）", "Showcase (printable)"),
    "event.showcased": ("展示成果（{n} 项）", "Results on show ({n})"),
    "event.no_results": ("尚未安排展示成果", "No results on show yet"),
    "event.sites": ("参加的园区和县（{n} 个）", "Sites taking part ({n})"),
    "event.no_sites": ("尚无园区或县报名", "No site has registered yet"),
    "event.site_kind.park": ("国家农业科技园区", "Agricultural science park"),
    "event.site_kind.innovation_county": ("创新型县（市）", "Innovation county"),
    "event.site_kind.key_county": ("重点帮扶县", "Key assistance county"),
    "event.via_registered": ("自行报名", "registered"),
    "event.via_invited": ("主办方邀请", "invited"),
    "event.my_site": ("本园区 / 本县参加", "Taking part for my site"),
    "event.closed_note": ("活动已结束，不能再报名或登记意向。",
                          "The event is closed: no more registrations or intents."),
    "event.site": ("园区或县", "Site"),
    "event.contact": ("参会联系人", "Contact at the event"),
    "event.contact_hint": ("姓名和电话", "Name and phone"),
    "event.register": ("报名参加", "Register"),
    "event.registered_msg": ("已报名", "Registered"),
    "event.new_intent": ("登记对接意向", "Register an intent"),
    "event.result": ("成果", "Result"),
    "event.register_intent": ("登记意向", "Register the intent"),
    "event.register_first": ("报名后即可对展示成果登记对接意向。",
                             "Register first to record intents on the results on show."),
    "event.my_intents": ("本次活动登记的意向", "Intents registered at this event"),
    "event.organiser_note": ("主办方通过接口管理活动、展示成果和邀请园区（见接口文档）。",
                             "Organisers manage the event, its showcase and invitations through the API (see the API "
                             "docs)."),
    "event.sign_in_to_register": ("后可为本园区或本县报名并登记对接意向。", "to register your site and its intents."),
    "showcase.title": ("{title} · 成果展示", "{title} · showcase"),
    "showcase.back": ("活动页", "Event page"),
    "showcase.printed": ("本页地址：{url}", "This page: {url}"),
    "intents.title": ("对接意向", "Intents"),
    "intents.intro": ("每项意向从登记、联系、签约到落地（示范田或推广应用）的进程；日期为事情发生的日期。",
                      "Each intent from registration through contact and agreement to landing (a demo plot or an "
                      "adoption); dates are when things happened."),
    "intents.by_site": ("按园区或县", "By site"),
    "intents.none": ("暂无对接意向", "No intents yet"),
    "intent_state.registered": ("已登记", "Registered"),
    "intent_state.contact": ("已联系", "In contact"),
    "intent_state.agreement": ("已签约", "Agreement"),
    "intent_state.landed": ("已落地", "Landed"),
    "intent_state.dropped": ("已放弃", "Dropped"),
    "intent_step.contact": ("已联系", "Contact made"),
    "intent_step.agreement": ("签约", "Agreement signed"),
    "intent_step.landed": ("落地", "Landed"),
    "intent_step.dropped": ("放弃", "Drop"),
    "intent.registered_msg": ("已登记对接意向", "Intent registered"),
    "intent.moved_msg": ("已记录：{state}", "Recorded: {state}"),
    "intent.next": ("记录下一步", "Record the next step"),
    "intent.step": ("下一步", "Next step"),
    "intent.on": ("日期", "Date"),
    "intent.note": ("说明", "Note"),
    "intent.mode": ("签约方式（签约时必填）", "Agreement mode (for an agreement)"),
    "intent.choose": ("请选择", "Choose"),
    "intent.plot": ("示范田", "Demo plot"),
    "intent.no_plot": ("（不关联示范田）", "(no demo plot)"),
    "intent.area_mu": ("或推广应用面积（亩）", "Or the adopted area (mu)"),
    "intent.area": ("推广应用 {mu} 亩", "adopted on {mu} mu"),
    "intent.landed_hint": ("落地须二选一：本县展示该成果的示范田，或推广应用面积。",
                           "Landing needs one of: a demo plot of the county showing the result, or the adopted area."),
    "intent.reason": ("放弃原因", "Reason for dropping"),
    "intent.reason_hint": ("放弃时必填", "Needed to drop"),
    "intent.recorded": ("{who} 记录于 {when}", "recorded by {who} on {when}"),
    "intent.save": ("保存", "Save"),
    # errors
    "error.title": ("出错了（{status}）", "Error ({status})"),
    "error.home": ("返回首页", "Go to the home page"),
}


def current_lang() -> str:
    lang = request.args.get("lang") or request.cookies.get("lang") or "zh"
    return "en" if lang == "en" else "zh"


def t(key: str, **kwargs: Any) -> str:
    """The message ``key`` in the request's language, formatted with ``kwargs``."""
    zh, en = MESSAGES[key]
    text = en if current_lang() == "en" else zh
    return text.format(**kwargs) if kwargs else text


def name_of(obj: Any) -> str:
    """``name_en`` or ``name_zh`` of a code-like object, by language (English falls back to Chinese)."""
    if current_lang() == "en" and getattr(obj, "name_en", None):
        return str(obj.name_en)
    return str(obj.name_zh)


def beijing(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time shown in Beijing time; naive values are UTC (SQLite drops the offset)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(BEIJING).strftime(fmt)


def lang_url(lang: str) -> str:
    """This page in ``lang``: the same path and parameters, with ``lang`` set."""
    args = {k: v for k, v in request.args.lists() if k != "lang"}
    args["lang"] = [lang]
    return f"{request.script_root}{request.path}?{urlencode(args, doseq=True)}"


def _remember_lang(response: Response) -> Response:
    lang = request.args.get("lang")
    if lang in LANGS and request.cookies.get("lang") != lang:
        response.set_cookie("lang", lang, max_age=COOKIE_AGE, samesite="Lax", httponly=True)
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(current_lang=current_lang, t=t, name_of=name_of, lang_url=lang_url,
                                 html_lang=lambda: HTML_LANG[current_lang()])
    app.jinja_env.filters["beijing"] = beijing
    app.after_request(_remember_lang)
