"""Who may read and write what: the one place where scope is decided.

A record one may not read is reported as not found (for writes too, so nobody learns it exists); one readable
but not writable is forbidden. Lists and searches filter with the same rule in the search index, single records
go through :func:`ensure_readable` / :func:`ensure_result_writable`; both read :func:`read_rule`, so every
path answers the same.

Scopes follow GB/T 2260 codes: a province officer (41xxxx) covers codes starting with its 2 digits, a city
officer its 4 digits, a county officer or agent its own code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from catalog.errors import Forbidden, NotFound
from catalog.results import Result

OFFICER_ROLES = ("ministry_officer", "province_officer", "city_officer", "county_officer")
_PREFIX = {"ministry_officer": 0, "province_officer": 2, "city_officer": 4, "county_officer": 6, "agent": 6}


@dataclass(frozen=True)
class Grant:
    role: str
    scope: str | None = None


@dataclass(frozen=True)
class Actor:
    """The person (or system) acting, with their roles, and the channel they act through."""

    name: str
    user_id: str | None = None
    grants: tuple[Grant, ...] = ()
    channel: str = "api"  # api, page, cli, import, sync
    token_id: str | None = field(default=None, compare=False)
    system: bool = False  # the operator at the command line, or the platform itself: may do anything

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None or self.system

    def scopes(self, *roles: str) -> list[str | None]:
        return [g.scope for g in self.grants if g.role in roles]

    def has(self, *roles: str) -> bool:
        return any(g.role in roles for g in self.grants)

    def covers_division(self, code: str | None, roles: Iterable[str] = (*OFFICER_ROLES, "agent")) -> bool:
        """Whether one of the actor's division-scoped roles covers ``code`` (a 6-digit division code)."""
        for g in self.grants:
            if g.role not in roles:
                continue
            n = _PREFIX.get(g.role)
            if n is None:
                continue
            if n == 0:
                return True
            if code and g.scope and code[:n] == g.scope[:n]:
                return True
        return False

    def with_channel(self, channel: str) -> Actor:
        return Actor(self.name, self.user_id, self.grants, channel, self.token_id, self.system)


ANONYMOUS = Actor("anonymous")
SYSTEM = Actor("system", channel="cli", system=True)


def operator(name: str, channel: str = "cli") -> Actor:
    """The person at the server's command line: trusted like the platform itself, recorded by name."""
    return Actor(name, channel=channel, system=True)


def _province_scopes(actor: Actor, *roles: str) -> list[str]:
    return [s[:2] + "0000" for s in actor.scopes(*roles) if s]


# --- results -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadRule:
    """Which results an actor reads beyond the published ones (which everybody reads)."""

    everything: bool             # drafts too (the command line)
    every_submitted: bool        # every result past draft (ministry officers, national reviewers)
    provinces: tuple[str, ...]   # results past draft whose source province is one of these
    institutions: tuple[str, ...]  # every result, drafts too, held by one of these institutions


def read_rule(actor: Actor) -> ReadRule:
    nationwide = actor.has("ministry_officer") or (actor.has("reviewer") and None in actor.scopes("reviewer"))
    provinces = tuple(sorted(set(_province_scopes(actor, "province_officer", "city_officer", "county_officer",
                                                  "reviewer"))))
    institutions = tuple(sorted({s for s in actor.scopes("result_holder") if s}))
    return ReadRule(actor.system, nationwide or actor.system, provinces, institutions)


def owns(actor: Actor, result: Result) -> bool:
    return bool(result.lead_institution) and result.lead_institution in actor.scopes("result_holder")


def can_read(actor: Actor, result: Result) -> bool:
    rule = read_rule(actor)
    if rule.everything or result.state == "published" or (result.lead_institution or "") in rule.institutions:
        return True
    if result.state == "draft":
        return False
    return rule.every_submitted or (result.source_province or "") in rule.provinces


def ensure_readable(actor: Actor, result: Result) -> Result:
    if not can_read(actor, result):
        raise NotFound(en=f"No result {result.id}", zh="成果不存在", id=result.id)
    return result


def _official_for(actor: Actor, result: Result, *roles: str) -> bool:
    """An officer or reviewer whose scope is the result's: national results nationwide, local ones by province."""
    for g in actor.grants:
        if g.role not in roles:
            continue
        if g.scope is None:
            return True
        if result.source == "local" and result.source_province and g.scope[:2] == result.source_province[:2] \
                and g.role in ("province_officer", "reviewer"):
            return True
    return False


# Which roles may take each lifecycle step (beyond reading the record).
STEP_ROLES: dict[str, tuple[str, ...]] = {
    "edit": ("result_holder",),
    "submit": ("result_holder",),
    "return": ("reviewer",),
    "approve": ("reviewer",),
    "publish": ("ministry_officer", "province_officer"),
    "withdraw": ("ministry_officer", "province_officer"),
    # accept or change the suggested classification (catalog.classify.decide): the reviewer, or the officer who
    # publishes the result (DESIGN: officers review results and their classification)
    "classify": ("reviewer", "ministry_officer", "province_officer"),
}


def can_act(actor: Actor, result: Result, action: str) -> bool:
    if actor.system:
        return True
    if action in ("edit", "submit"):
        return owns(actor, result)
    return _official_for(actor, result, *STEP_ROLES[action])


def ensure_result_writable(actor: Actor, result: Result, action: str) -> Result:
    """404 when the actor may not even read the result, 403 when they may read but not do ``action``."""
    ensure_readable(actor, result)
    if not can_act(actor, result, action):
        raise Forbidden(en=f"You may not {action} this result", zh="您无权对该成果执行此操作",
                        action=action)
    return result


def ensure_can_create(actor: Actor, data: dict[str, object]) -> None:
    """Holders create results of their own institution; officers create national (ministry) or local ones."""
    if actor.system or actor.has("ministry_officer"):
        return
    source = data.get("source") or "national"
    province = data.get("source_province")
    if source == "local" and isinstance(province, str) and province[:2] in {
            s[:2] for s in actor.scopes("province_officer") if s}:
        return
    institutions = data.get("institutions") or []
    lead = institutions[0] if isinstance(institutions, list) and institutions else None
    if lead and lead in actor.scopes("result_holder"):
        return
    raise Forbidden(en="You may create results only for your own institution or scope",
                    zh="只能为本单位或本辖区新建成果")


def ensure_rule_editor(actor: Actor) -> None:
    """The keyword rules of classification suggestions are national: ministry officers edit them."""
    if not (actor.system or actor.has("ministry_officer")):
        raise Forbidden(en="Only ministry officers edit the classification rules", zh="只有部级管理员可以修改分类规则")
