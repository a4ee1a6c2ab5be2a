"""Who may see and manage which accounts, devices and tokens.

Every role grant lives somewhere in the 部 / 省 / 市 / 县 tree: officers and agents at their division, a park
manager at the park's place, a province reviewer at its province; ministry officers, national reviewers and
result holders (institutions are not placed) live at the root. An officer *sees* an account with a grant in its
area, and *manages* it when every grant of the account is strictly below the officer: in its area and of a lower
rank (province officer → city and county officers, agents, park managers and reviewers of its province; a county
officer → the agents and park managers of its county). Ministry officers manage everyone.

Like :mod:`catalog.access`, an account one may not see answers not found, one seen but not managed forbidden.
Agents and holders manage only their own devices and tokens; an officer who manages an agent may revoke the
agent's devices.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from catalog.access import OFFICER_ROLES, Actor, Grant
from catalog.accounts import ROLES, RoleGrant, Token, User, create_user, grants_of, set_password, set_roles
from catalog.divisions import Division
from catalog.errors import FieldError, Forbidden, NotFound, ValidationFailed
from catalog.sites import Site

# Rank in the tree: lower is higher up. Everything that is not an officer sits below the county officer.
RANK = {"ministry_officer": 0, "province_officer": 1, "city_officer": 2, "county_officer": 3}
NON_OFFICER_RANK = 4
_PREFIX = {"province_officer": 2, "city_officer": 4, "county_officer": 6}
# Roles whose scope is a division code (the reviewer's only when it is set).
DIVISION_ROLES = ("province_officer", "city_officer", "county_officer", "agent", "reviewer")
_LEVEL = {"province_officer": "province", "city_officer": "prefecture", "county_officer": "county",
          "agent": "county", "reviewer": "province"}


def rank(role: str) -> int:
    return RANK.get(role, NON_OFFICER_RANK)


def is_officer(actor: Actor) -> bool:
    return actor.system or actor.has(*OFFICER_ROLES)


def grant_area(session: Session, role: str, scope: str | None) -> str | None:
    """The division code a grant lives at, or None for the root (the whole country)."""
    if role in DIVISION_ROLES:
        return scope or None
    if role == "park_manager" and scope:
        site = session.get(Site, scope)
        return (site.place_code or site.province_code) if site else None
    return None


def _officer_grants(actor: Actor) -> list[Grant]:
    return [g for g in actor.grants if g.role in OFFICER_ROLES]


def _covers(officer: Grant, area: str | None) -> bool:
    if officer.role == "ministry_officer":
        return True
    n = _PREFIX[officer.role]
    return bool(area and officer.scope and area[:n] == officer.scope[:n])


def can_grant(session: Session, actor: Actor, role: str, scope: str | None) -> bool:
    """Whether ``actor`` may hand out (or take away) the grant ``role`` at ``scope``."""
    if actor.system:
        return True
    area = grant_area(session, role, scope)
    return any(_covers(o, area) and (o.role == "ministry_officer" or rank(role) > rank(o.role))
               for o in _officer_grants(actor))


def can_see_user(session: Session, actor: Actor, user: User) -> bool:
    if actor.system or user.id == actor.user_id or actor.has("ministry_officer"):
        return True
    return any(_covers(o, grant_area(session, g.role, g.scope)) for o in _officer_grants(actor) for g in user.roles)


def can_manage_user(session: Session, actor: Actor, user: User) -> bool:
    """Every grant of ``user`` is below ``actor`` (an account without roles: the ministry's alone)."""
    if actor.system or actor.has("ministry_officer"):
        return True
    return bool(user.roles) and all(can_grant(session, actor, g.role, g.scope) for g in user.roles)


def ensure_user_visible(session: Session, actor: Actor, user: User | None, user_id: str) -> User:
    if user is None or not can_see_user(session, actor, user):
        raise NotFound(en=f"No user {user_id}", zh="账号不存在", id=user_id)
    return user


def ensure_user_manageable(session: Session, actor: Actor, user: User) -> User:
    if not can_manage_user(session, actor, user):
        raise Forbidden(en="This account is not below your scope", zh="该账号不在您的管辖范围之下")
    return user


def ensure_officer(actor: Actor) -> None:
    if not is_officer(actor):
        raise Forbidden(en="Only officers manage accounts", zh="只有管理员可以管理账号")


def visible_users_filter(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``User`` for the accounts ``actor`` sees (the same rule as :func:`can_see_user`)."""
    if actor.system or actor.has("ministry_officer"):
        return true()
    clauses: list[ColumnElement[bool]] = []
    if actor.user_id:
        clauses.append(User.id == actor.user_id)
    for o in _officer_grants(actor):
        prefix = (o.scope or "")[: _PREFIX[o.role]]
        if not prefix:
            continue
        parks = select(Site.id).where(func.coalesce(Site.place_code, Site.province_code).startswith(prefix))
        clauses.append(User.id.in_(select(RoleGrant.user_id).where(or_(
            and_(RoleGrant.role.in_(DIVISION_ROLES), RoleGrant.scope.startswith(prefix)),
            and_(RoleGrant.role == "park_manager", RoleGrant.scope.in_(parks))))))
    return or_(*clauses) if clauses else false()


def visible_users(actor: Actor) -> Select[User]:
    return select(User).where(visible_users_filter(actor))


# --- grants ------------------------------------------------------------------------------------------------


def parse_grant(text: str) -> tuple[str, str | None]:
    """``ROLE[:SCOPE]`` (as the command line writes it) → (role, scope)."""
    role, _, scope = text.partition(":")
    return role.strip(), (scope.strip() or None)


def validate_grant(session: Session, role: str, scope: str | None) -> list[FieldError]:
    """What is wrong with a grant: an unknown role, or a scope that does not name the place the role needs."""
    if role not in ROLES:
        return [FieldError("roles", "unknown_code", f"未知角色：{role}", f"Unknown role: {role}", value=role)]
    need = ROLES[role]
    if need is None:
        if scope:
            return [FieldError("roles", "invalid", f"角色 {role} 不带范围", f"The role {role} takes no scope",
                               value=scope)]
        return []
    if not scope:
        if need == "province?":
            return []
        return [FieldError("roles", "required", f"角色 {role} 须指定范围", f"The role {role} needs a scope")]
    if role in _LEVEL:
        division = session.get(Division, scope)
        level = _LEVEL[role]
        ok = division is not None and not division.retired and (
            division.level == level or (level == "county" and division.county_equivalent))
        if not ok:
            return [FieldError("roles", "invalid", f"{scope} 不是现行的{_LEVEL_ZH[level]}区划代码",
                               f"{scope} is not a current {level} division code", value=scope)]
    elif role == "park_manager":
        site = session.get(Site, scope)
        if site is None or site.kind != "park":
            return [FieldError("roles", "invalid", f"{scope} 不是农业科技园区编号",
                               f"{scope} is not a park id", value=scope)]
    elif len(scope) > 128:
        return [FieldError("roles", "invalid", "单位名称过长", "The institution name is too long")]
    return []


_LEVEL_ZH = {"province": "省级", "prefecture": "地级", "county": "县级"}


def check_grants(session: Session, actor: Actor, grants: list[tuple[str, str | None]]) -> None:
    """Valid grants, each within what ``actor`` may hand out: 422 for a bad grant, 403 for one above the actor."""
    errors = [e for role, scope in grants for e in validate_grant(session, role, scope)]
    if errors:
        raise ValidationFailed(errors)
    above = [f"{role}:{scope or ''}" for role, scope in grants if not can_grant(session, actor, role, scope)]
    if above:
        raise Forbidden(en="You may grant only roles below your own scope", zh="只能授予本辖区以下的角色",
                        grants=above)


def scope_name(session: Session, role: str, scope: str | None) -> str | None:
    """The place a scope names, for people: a division or park name; an institution is its own name."""
    if not scope:
        return None
    if role in DIVISION_ROLES:
        division = session.get(Division, scope)
        return division.name if division else None
    if role == "park_manager":
        site = session.get(Site, scope)
        return site.name if site else None
    return scope


# --- devices and tokens ------------------------------------------------------------------------------------


def can_see_token(session: Session, actor: Actor, token: Token) -> bool:
    if actor.system or token.user_id == actor.user_id:
        return True
    if token.kind != "device" or not is_officer(actor):
        return False
    owner = session.get(User, token.user_id)
    return owner is not None and can_see_user(session, actor, owner)


def can_revoke_token(session: Session, actor: Actor, token: Token) -> bool:
    if actor.system or token.user_id == actor.user_id:
        return True
    owner = session.get(User, token.user_id)
    return token.kind == "device" and owner is not None and is_officer(actor) and \
        can_manage_user(session, actor, owner)


def ensure_token_revocable(session: Session, actor: Actor, token: Token | None, token_id: str) -> Token:
    """404 for a token ``actor`` may not see, 403 for one seen but not revocable."""
    if token is None or not can_see_token(session, actor, token):
        raise NotFound(en=f"No device or token {token_id}", zh="设备或令牌不存在", id=token_id)
    if not can_revoke_token(session, actor, token):
        raise Forbidden(en="Only the owner or an officer above may revoke this", zh="只有本人或上级管理员可以撤销")
    return token


def visible_devices(actor: Actor) -> Select[Token]:
    """Device tokens ``actor`` sees: its own, and (officers) those of the accounts it sees."""
    query = select(Token).where(Token.kind == "device")
    if actor.system:
        return query
    own = Token.user_id == (actor.user_id or "")
    if not is_officer(actor):
        return query.where(own)
    return query.where(or_(own, Token.user_id.in_(select(User.id).where(visible_users_filter(actor)))))


# --- managing ----------------------------------------------------------------------------------------------


def _not_self(actor: Actor, user: User, what: str) -> None:
    # Nobody disables, re-roles or resets themselves here: an officer cannot lock itself out or raise itself.
    if user.id == actor.user_id:
        raise Forbidden(en=f"You may not change your own {what}", zh="不能修改自己的角色、状态或密码")


def create_account(session: Session, actor: Actor, username: str, password: str, display_name: str,
                   grants: list[tuple[str, str | None]]) -> User:
    """A new account with ``grants``, each of them below ``actor`` (the operator may grant anything)."""
    ensure_officer(actor)
    if not grants:
        raise ValidationFailed([FieldError("roles", "required", "至少需要一个角色", "At least one role is needed")])
    grants = list(dict.fromkeys(grants))
    check_grants(session, actor, grants)
    return create_user(session, username, password, display_name, grants, created_by=actor.name)


def update_account(session: Session, actor: Actor, user: User, *, display_name: str | None = None,
                   active: bool | None = None, grants: list[tuple[str, str | None]] | None = None) -> User:
    """Change what ``actor`` may change: its own display name; the name, state and roles of accounts below it."""
    if display_name is not None and user.id == actor.user_id and active is None and grants is None:
        user.display_name = display_name
        session.flush()
        return user
    ensure_officer(actor)
    ensure_user_manageable(session, actor, user)
    if active is not None or grants is not None:
        _not_self(actor, user, "roles or state")
    if grants is not None:
        if not grants:
            raise ValidationFailed([FieldError("roles", "required", "至少需要一个角色", "At least one role is needed")])
        old = set(grants_of(user))
        check_grants(session, actor, sorted(old.symmetric_difference(grants), key=lambda g: (g[0], g[1] or "")))
        set_roles(user, grants)
    if display_name is not None:
        user.display_name = display_name
    if active is not None:
        user.active = active  # its sessions and tokens are refused from its next request (server.auth)
    session.flush()
    return user


def reset_password(session: Session, actor: Actor, user: User, password: str) -> None:
    """A new password set by an officer above (it ends the account's web sessions, see server.auth)."""
    ensure_officer(actor)
    ensure_user_manageable(session, actor, user)
    _not_self(actor, user, "password")
    set_password(user, password)
    session.flush()
