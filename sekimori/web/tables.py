"""The web face's tables in the case database. Users, their roles, organisations and API tokens are
recorded in the case database's audit chain (:class:`sekimori.respond.RecordedTables`): every change is
an audit entry attributed to the signed-in principal. Secrets and churn stay out of the chain: the
password hashes (an auditor reading the chain must not be able to crack them offline) and the
sessions (one row per sign-in, touched on every request); their changes are audited as events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sekimori.respond import UTCDateTime

ROLES = ("viewer", "analyst", "approver", "admin", "auditor")


class WebBase(DeclarativeBase):
    pass


class User(WebBase):
    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(128), unique=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    must_change: Mapped[bool] = mapped_column(Boolean, default=True)  # a one-time password was set
    created: Mapped[datetime] = mapped_column(UTCDateTime())


class UserRole(WebBase):
    __tablename__ = "web_user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))


class UserOrganisation(WebBase):
    __tablename__ = "web_user_orgs"
    __table_args__ = (UniqueConstraint("user_id", "org"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"), index=True)
    org: Mapped[str] = mapped_column(String(128))


class ApiToken(WebBase):
    """A per-user API token: only the SHA-256 of the token is kept (it is 256 random bits: a fast hash
    cannot be brute-forced); ``prefix`` names it in the list."""

    __tablename__ = "web_api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Password(WebBase):
    """The argon2id hash of a user's password (not recorded in the chain; changes are audited)."""

    __tablename__ = "web_passwords"

    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"), primary_key=True)
    hash: Mapped[str] = mapped_column(Text)


class WebSession(WebBase):
    """A server-side session: the cookie holds a random id, this table its SHA-256 only. ``user_id``
    is empty before sign-in (the sign-in form's CSRF token lives in it); sign-in replaces the row."""

    __tablename__ = "web_sessions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("web_users.id"), nullable=True, index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    seen: Mapped[datetime] = mapped_column(UTCDateTime())


RECORDED: tuple[type[WebBase], ...] = (User, UserRole, UserOrganisation, ApiToken)
UNRECORDED: tuple[type[WebBase], ...] = (Password, WebSession)
