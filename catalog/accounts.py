"""People, their roles (each bound to a place), and the secrets they sign in with.

Passwords are stored only as argon2 hashes; API and device tokens only as SHA-256 hashes of random secrets
(a token is shown once, when it is made). A person may hold several roles.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session, relationship

from catalog.db import Base, UTCDateTime, timestamp, utcnow, uuid_pk
from catalog.errors import Conflict, FieldError, NotFound, ValidationFailed

# role → what its scope names: a division level, a site, an institution, or nothing (the whole country).
ROLES: dict[str, str | None] = {
    "ministry_officer": None,
    "province_officer": "province",
    "city_officer": "prefecture",
    "county_officer": "county",
    "agent": "county",
    "park_manager": "site",
    "result_holder": "institution",
    "reviewer": "province?",  # the whole country, or one province's local results
}
ROLE_NAMES: dict[str, tuple[str, str]] = {
    "ministry_officer": ("部级管理员", "Ministry officer"),
    "province_officer": ("省级管理员", "Province officer"),
    "city_officer": ("市级管理员", "City officer"),
    "county_officer": ("县级管理员", "County officer"),
    "agent": ("县农技推广员", "County extension agent"),
    "park_manager": ("园区管理者", "Park manager"),
    "result_holder": ("成果持有单位", "Result holder"),
    "reviewer": ("审核专家", "Reviewer"),
}
TOKEN_KINDS = ("api", "device")
_hasher = PasswordHasher()


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[uuid_pk]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[timestamp]
    created_by: Mapped[str | None] = mapped_column(String(64))

    roles: Mapped[list[RoleGrant]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class RoleGrant(Base):
    __tablename__ = "role_grant"

    id: Mapped[uuid_pk]
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    # A division code (province/prefecture/county), a site id, or an institution name; None = nationwide.
    scope: Mapped[str | None] = mapped_column(String(128))


class Token(Base):
    """An API bearer token or an enrolled field-kit device."""

    __tablename__ = "token"
    __table_args__ = (Index("ix_token_user", "user_id", "kind"),)

    id: Mapped[uuid_pk]
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[timestamp]
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def validate_password(password: str) -> list[FieldError]:
    if len(password) < 10:
        return [FieldError("password", "too_short", "密码至少10个字符", "The password needs 10 characters or more")]
    return []


def create_user(session: Session, username: str, password: str, display_name: str = "",
                roles: list[tuple[str, str | None]] | None = None, created_by: str | None = None) -> User:
    errors = validate_password(password)
    username = username.strip()
    if not username or len(username) > 64:
        errors.append(FieldError("username", "invalid", "用户名须为1至64个字符",
                                 "The username needs 1 to 64 characters"))
    for role, _scope in roles or []:
        if role not in ROLES:
            errors.append(FieldError("roles", "unknown_code", f"未知角色：{role}", f"Unknown role: {role}"))
    if errors:
        raise ValidationFailed(errors)
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(en=f"The username {username} is taken", zh=f"用户名“{username}”已被使用")
    user = User(username=username, display_name=display_name or username, password_hash=hash_password(password),
                created_by=created_by)
    user.roles = [RoleGrant(role=r, scope=s) for r, s in roles or []]
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(en=f"No user {username}", zh=f"用户“{username}”不存在")
    return user


def set_password(user: User, password: str) -> None:
    errors = validate_password(password)
    if errors:
        raise ValidationFailed(errors)
    user.password_hash = hash_password(password)


def issue_token(session: Session, user: User, kind: str, name: str) -> tuple[Token, str]:
    """Make a token; the secret is returned once and never stored."""
    if kind not in TOKEN_KINDS:
        raise ValueError(kind)
    name = name.strip()
    if not name or len(name) > 128:
        raise ValidationFailed([FieldError("name", "invalid", "名称须为1至128个字符",
                                           "The name needs 1 to 128 characters")])
    secret = f"yx{kind[0]}_{secrets.token_urlsafe(32)}"
    token = Token(user_id=user.id, kind=kind, name=name, secret_hash=_secret_hash(secret))
    session.add(token)
    session.flush()
    return token, secret


# A token's last use is kept to the minute: a device syncing writes its token row once a minute, not with every
# request (each push batch, pull page and photo chunk).
LAST_USED_STEP = dt.timedelta(minutes=1)


def user_for_secret(session: Session, secret: str) -> tuple[User, Token] | None:
    """The active user behind a live token, or None (unknown, revoked, or the account disabled)."""
    found = session.execute(select(Token, User).join(User, User.id == Token.user_id)  # one query: every request
                            .where(Token.secret_hash == _secret_hash(secret))).first()
    if found is None:
        return None
    token, user = found
    if token.revoked_at is not None or not user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_STEP:
        token.last_used_at = now
    return user, token


def revoke_token(token: Token, by: str) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        token.revoked_by = by



def get_user_by_id(session: Session, user_id: str) -> User | None:
    return session.get(User, user_id)


def set_roles(user: User, grants: list[tuple[str, str | None]]) -> None:
    """Make ``user``'s grants exactly ``grants``: kept grants stay (no churn in the audit log), others go."""
    wanted = list(dict.fromkeys(grants))
    keep = [g for g in user.roles if (g.role, g.scope) in wanted]
    session = object_session(user)
    for gone in [g for g in user.roles if g not in keep]:
        # Deleted explicitly: an orphan removed by the cascade never shows in session.deleted, so the audit
        # hook (after_flush) would not see it go.
        if session is not None:
            session.delete(gone)
    have = {(g.role, g.scope) for g in keep}
    user.roles = keep + [RoleGrant(role=r, scope=s) for r, s in wanted if (r, s) not in have]


def grants_of(user: User) -> list[tuple[str, str | None]]:
    return [(g.role, g.scope) for g in user.roles]


def tokens_of(session: Session, user: User, kind: str) -> list[Token]:
    return list(session.scalars(select(Token).where(Token.user_id == user.id, Token.kind == kind)
                                .order_by(Token.created_at.desc(), Token.id)))


def get_token(session: Session, token_id: str) -> Token | None:
    return session.get(Token, token_id)
