"""Local users of the web face: argon2id passwords, roles, organisations, sessions and API tokens, in
the case database (see :mod:`sekimori.web.tables`). Every change is in the audit chain, attributed to
the principal who made it; sign-in, sign-out and failed sign-ins are audit events too."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sekimori.respond import CaseStore, Principal, RecordedTables, person_key
from sekimori.web.tables import (
    RECORDED,
    ROLES,
    ApiToken,
    Password,
    User,
    UserOrganisation,
    UserRole,
    WebBase,
    WebSession,
)

_HASHER = PasswordHasher()  # argon2id, the library's (RFC 9106) parameters
# Verified when the login is unknown, so that an unknown login costs as much as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
MIN_PASSWORD = 12
TOKEN_PREFIX = "skm_"


class AccountError(ValueError):
    """A user operation that is not allowed (the message is safe to show)."""


@dataclass(frozen=True)
class Account:
    """A signed-in user as the pages see it."""

    id: int
    login: str
    roles: frozenset[str]
    orgs: frozenset[str]
    must_change: bool

    @property
    def principal(self) -> Principal:
        return Principal("web", self.login, self.login)

    @property
    def sees_all(self) -> bool:
        """Admins and auditors see every organisation; everyone else only those assigned to them."""
        return bool(self.roles & {"admin", "auditor"})


@dataclass(frozen=True)
class SessionInfo:
    account: Account | None
    csrf: str


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class AccountStore:
    """Users, sessions and tokens in the case database of ``cases``."""

    def __init__(self, cases: CaseStore, idle: timedelta, absolute: timedelta) -> None:
        self.cases = cases
        self.recorded = RecordedTables(cases, list(RECORDED))
        unrecorded = [WebBase.metadata.tables[m.__tablename__] for m in (Password, WebSession)]
        WebBase.metadata.create_all(cases.engine, tables=unrecorded)
        self.idle, self.absolute = idle, absolute

    # -- users -------------------------------------------------------------------------------------

    def _account(self, session: Session, user: User) -> Account:
        roles = session.scalars(select(UserRole.role).where(UserRole.user_id == user.id))
        orgs = session.scalars(select(UserOrganisation.org).where(UserOrganisation.user_id == user.id))
        return Account(user.id, user.login, frozenset(roles), frozenset(orgs), user.must_change)

    def users(self) -> list[tuple[User, Account]]:
        with Session(self.cases.engine) as session:
            found = session.scalars(select(User).order_by(User.login)).all()
            return [(u, self._account(session, u)) for u in found]

    def create_user(
        self, who: Principal, login: str, roles: set[str], orgs: set[str], password: str | None = None
    ) -> str:
        """A new user with a one-time password (returned; changed at first sign-in)."""
        login = login.strip()
        Principal("web", login, login)  # refuses control, bidi and invisible-only names
        if not roles <= set(ROLES):
            raise AccountError("unknown role")
        one_time = password or secrets.token_urlsafe(12)
        with Session(self.cases.engine) as session:
            taken = {person_key(u) for u in session.scalars(select(User.login))}
        if person_key(login) in taken:
            raise AccountError("a user with this login (or a look-alike of it) exists")
        with self.recorded.write(who, "web.user.create", {"login": login}) as session:
            user = User(login=login, disabled=False, must_change=True, created=_now())
            session.add(user)
            session.flush()
            session.add_all([UserRole(user_id=user.id, role=r) for r in sorted(roles)])
            session.add_all([UserOrganisation(user_id=user.id, org=o) for o in sorted(orgs)])
            session.add(Password(user_id=user.id, hash=_HASHER.hash(one_time)))
        return one_time

    def update_user(
        self, who: Principal, user_id: int, roles: set[str], orgs: set[str], disabled: bool
    ) -> None:
        if not roles <= set(ROLES):
            raise AccountError("unknown role")
        with self.recorded.write(who, "web.user.update", {"user_id": user_id}) as session:
            user = session.get(User, user_id)
            if user is None:
                raise AccountError("unknown user")
            user.disabled = disabled
            for row in session.scalars(select(UserRole).where(UserRole.user_id == user_id)):
                if row.role not in roles:
                    session.delete(row)
            for row_o in session.scalars(select(UserOrganisation).where(UserOrganisation.user_id == user_id)):
                if row_o.org not in orgs:
                    session.delete(row_o)
            current = self._account(session, user)
            session.add_all([UserRole(user_id=user_id, role=r) for r in sorted(roles - current.roles)])
            session.add_all([UserOrganisation(user_id=user_id, org=o) for o in sorted(orgs - current.orgs)])
            if disabled:  # a disabled user is signed out everywhere at once
                session.execute(delete(WebSession).where(WebSession.user_id == user_id))

    def set_password(self, who: Principal, account: Account, old: str, new: str) -> None:
        if len(new) < MIN_PASSWORD:
            raise AccountError(f"at least {MIN_PASSWORD} characters")
        if person_key(account.login) in person_key(new):
            raise AccountError("the password must not contain the login")
        with self.recorded.write(who, "web.password.change", {"user_id": account.id}) as session:
            stored = session.get(Password, account.id)
            if stored is None or not _verify(stored.hash, old):
                raise AccountError("the current password is wrong")
            stored.hash = _HASHER.hash(new)
            user = session.get(User, account.id)
            assert user is not None
            user.must_change = False

    def authenticate(self, login: str, password: str) -> Account | None:
        """The account whose login and password these are, enabled; ``None`` otherwise (the same time
        and the same answer for an unknown login, a wrong password and a disabled user)."""
        with Session(self.cases.engine) as session:
            user = session.scalars(select(User).where(User.login == login.strip())).first()
            stored = session.get(Password, user.id) if user is not None else None
            ok = _verify(stored.hash if stored is not None else _DUMMY_HASH, password)
            if user is None or stored is None or not ok or user.disabled:
                return None
            return self._account(session, user)

    # -- sessions ----------------------------------------------------------------------------------

    def new_session(self, user_id: int | None) -> tuple[str, str]:
        """A new session (``user_id`` None: before sign-in): its cookie value and CSRF token."""
        sid, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), _now()
        with Session(self.cases.engine) as session, session.begin():
            cutoff = now - self.absolute
            session.execute(delete(WebSession).where(WebSession.created < cutoff))
            session.add(WebSession(digest=digest(sid), user_id=user_id, csrf=csrf, created=now, seen=now))
        return sid, csrf

    def end_session(self, sid: str) -> None:
        with Session(self.cases.engine) as session, session.begin():
            session.execute(delete(WebSession).where(WebSession.digest == digest(sid)))

    def session(self, sid: str) -> SessionInfo | None:
        """The live session of cookie value ``sid``: ``None`` if unknown or expired (idle or absolute)."""
        now = _now()
        with Session(self.cases.engine) as session, session.begin():
            row = session.get(WebSession, digest(sid))
            if row is None:
                return None
            if now - row.seen > self.idle or now - row.created > self.absolute:
                session.delete(row)
                return None
            if now - row.seen > timedelta(seconds=30):
                row.seen = now
            if row.user_id is None:
                return SessionInfo(None, row.csrf)
            user = session.get(User, row.user_id)
            if user is None or user.disabled:
                session.delete(row)
                return None
            return SessionInfo(self._account(session, user), row.csrf)

    def audit_event(self, who: Principal, kind: str, payload: dict[str, object]) -> None:
        """An audit entry for what changes no recorded row (sign-in, sign-out, a refused sign-in)."""
        with self.recorded.write(who, kind, dict(payload)):
            pass

    # -- API tokens --------------------------------------------------------------------------------

    def create_token(self, account: Account, name: str) -> str:
        """A new API token of ``account``: returned once, kept as its SHA-256 only."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.recorded.write(account.principal, "web.token.create", {"name": name}) as session:
            session.add(
                ApiToken(
                    user_id=account.id,
                    name=name.strip()[:100] or "token",
                    prefix=token[: len(TOKEN_PREFIX) + 6],
                    digest=digest(token),
                    created=_now(),
                    revoked=False,
                )
            )
        return token

    def tokens(self, account: Account) -> list[ApiToken]:
        with Session(self.cases.engine) as session:
            query = select(ApiToken).where(ApiToken.user_id == account.id).order_by(ApiToken.id)
            return list(session.scalars(query))

    def revoke_token(self, account: Account, token_id: int) -> None:
        with self.recorded.write(account.principal, "web.token.revoke", {"id": token_id}) as session:
            row = session.get(ApiToken, token_id)
            if row is None or row.user_id != account.id:
                raise AccountError("unknown token")
            row.revoked = True

    def token_account(self, token: str) -> Account | None:
        with Session(self.cases.engine) as session:
            row = session.scalars(select(ApiToken).where(ApiToken.digest == digest(token))).first()
            if row is None or row.revoked or not hmac.compare_digest(row.digest, digest(token)):
                return None
            user = session.get(User, row.user_id)
            if user is None or user.disabled or user.must_change:
                return None
            return self._account(session, user)


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
