"""An LDAP directory (OpenLDAP, or Active Directory when ``user_attribute`` is ``sAMAccountName``), via
``ldap3``.

Settings (``SEKIMORI_LDAP_<KEY>`` or the ``[ldap]`` table of the secrets file): ``url``
(``ldap://host:port`` or ``ldaps://…``), ``bind_dn``, ``bind_password``, ``base_dn``, ``user_attribute``
(``uid``; ``sAMAccountName`` for AD), ``start_tls`` (``true`` to upgrade an ``ldap://`` connection),
``ca_file`` (to verify the server's certificate), ``timeout`` (seconds, 10) and ``password_drop_dir``
(where reset passwords are handed over, below).

How each action is carried out:

* ``reset_password``: a new random password, set with the Password Modify extended operation (RFC 3062)
  where the server offers it, else by replacing ``userPassword`` with its salted SHA hash (AD:
  ``unicodePwd``, which AD only accepts over TLS). The password is never returned, logged or kept in a
  Plan or Outcome: it is written to a new file of mode 0600 in ``password_drop_dir``, to be handed to the
  account's owner out of band, and only that file's path is reported. Not reversible: the old password is
  not known (only its hash, which is a secret too).
* ``disable_account``: OpenLDAP: ``pwdAccountLockedTime: 000001010000Z``, the password policy overlay's
  permanent lock (binds are refused where the account's policy has ``pwdLockout: TRUE``); AD: the
  ACCOUNTDISABLE bit of ``userAccountControl``. Rollback restores the previous value.
* ``revoke_sessions``: LDAP has no sessions; the nearest is forcing a password change at the next login:
  OpenLDAP ``pwdReset: TRUE`` (enforced where the policy has ``pwdMustChange: TRUE``), AD ``pwdLastSet: 0``.
* ``remove_grant``: a grant of a group membership (the action's params name the account and the group's
  DN): that one ``member``/``uniqueMember`` value deleted from the group; rollback adds it back. See
  :mod:`sekimori.respond.connectors.ldap_groups`.

A target is an account name (``alice``, ``CORP\\alice``, ``alice@corp.example``) or a full DN under
``base_dn``; it must match exactly one entry (``remove_grant``: the grant's id; the account is in its
params).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import ldap3
from ldap3.core import exceptions as ldap_exc
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn, safe_dn
from ldap3.utils.hashed import hashed

from sekimori.respond.actions import (
    Action,
    ActionKind,
    Connector,
    ConnectorError,
    Outcome,
    Plan,
    redact,
    register,
)
from sekimori.respond.connectors import ldap_groups

log = logging.getLogger(__name__)

PASSWORD_MODIFY_OID = "1.3.6.1.4.1.4203.1.11.1"  # RFC 3062
LOCKED_FOREVER = "000001010000Z"  # ppolicy: locked until an administrator unlocks it
ACCOUNTDISABLE = 0x2  # userAccountControl bit
SECRET = "***"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@register
class LdapConnector(Connector):
    name = "ldap"
    description = (
        "LDAP directory (OpenLDAP with ppolicy, or Active Directory): passwords, accounts and group "
        "memberships"
    )
    kinds: ClassVar[frozenset[ActionKind]] = frozenset(
        {
            ActionKind.reset_password,
            ActionKind.disable_account,
            ActionKind.revoke_sessions,
            ActionKind.remove_grant,
        }
    )

    # ---- settings ---------------------------------------------------------------------------------------

    def _setting(self, key: str) -> str:
        value = self.settings.get(key)
        if value in (None, ""):
            raise ConnectorError(
                f"ldap: setting {key!r} is missing (SEKIMORI_LDAP_{key.upper()} or [ldap] {key} in the "
                "secrets file)"
            )
        return str(value)

    @property
    def url(self) -> str:
        return self._setting("url")

    @property
    def user_attribute(self) -> str:
        return str(self.settings.get("user_attribute") or "uid")

    @property
    def is_ad(self) -> bool:
        return self.user_attribute.lower() == "samaccountname"

    def _flag(self, key: str) -> bool:
        value = self.settings.get(key, False)
        return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")

    def _error(self, message: str) -> ConnectorError:
        # Everything that leaves the connector goes through redact: an ldap3 message could echo a value.
        # password_drop_dir is left out of the redaction: its name says "password", its value is a path.
        settings = {k: v for k, v in self.settings.items() if k != "password_drop_dir"}
        return ConnectorError(redact(f"ldap: {message}", settings))

    # ---- connections ------------------------------------------------------------------------------------

    def _server(self) -> ldap3.Server:
        timeout = int(float(self.settings.get("timeout") or 10))  # ldap3 packs it as a C long
        tls = None
        if self.url.lower().startswith("ldaps://") or self._flag("start_tls"):
            tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.settings.get("ca_file") or None)
        return ldap3.Server(self.url, get_info=ldap3.ALL, tls=tls, connect_timeout=timeout)

    def _open(self, user: str, password: str) -> ldap3.Connection:
        """A bound connection; invalid credentials raise LDAPInvalidCredentialsResult, the rest
        ConnectorError."""
        timeout = int(float(self.settings.get("timeout") or 10))  # ldap3 packs it as a C long
        conn = ldap3.Connection(
            self._server(),
            user=user,
            password=password,
            auto_bind=ldap3.AUTO_BIND_NONE,
            raise_exceptions=True,
            receive_timeout=timeout,
            check_names=False,  # the ppolicy attributes may be absent from the schema: we check ourselves
        )
        try:
            conn.open()
            if self._flag("start_tls") and not self.url.lower().startswith("ldaps://"):
                conn.start_tls()
            conn.bind()
        except ldap_exc.LDAPInvalidCredentialsResult:
            with contextlib.suppress(Exception):
                conn.unbind()
            raise
        except ldap_exc.LDAPException as exc:
            with contextlib.suppress(Exception):
                conn.unbind()
            raise self._error(f"cannot reach {self.url}: {type(exc).__name__}: {exc}") from None
        return conn

    @contextlib.contextmanager
    def _admin(self) -> Iterator[ldap3.Connection]:
        url, bind_dn = self.url, self._setting("bind_dn")
        try:
            conn = self._open(bind_dn, self._setting("bind_password"))
        except ldap_exc.LDAPInvalidCredentialsResult:
            raise self._error(f"bind as {bind_dn} to {url} refused: invalid credentials") from None
        try:
            yield conn
        except ldap_exc.LDAPException as exc:
            raise self._error(f"{self.url}: {type(exc).__name__}: {exc}") from None
        finally:
            with contextlib.suppress(Exception):
                conn.unbind()

    def _user_can_bind(self, dn: str, password: str) -> bool:
        try:
            conn = self._open(dn, password)
        except ldap_exc.LDAPInvalidCredentialsResult:
            return False
        with contextlib.suppress(Exception):
            conn.unbind()
        return True

    def check(self) -> None:
        with self._admin():
            pass

    # ---- the account ------------------------------------------------------------------------------------

    def _account_filter(self, target: str) -> str:
        attr = self.user_attribute
        if "\\" in target:  # CORP\alice: the domain part is the directory's own
            return f"({attr}={escape_filter_chars(target.split(chr(92), 1)[1])})"
        if "@" in target:  # alice@corp.example: the name, or the mail/UPN; more than one match is refused
            local = escape_filter_chars(target.split("@", 1)[0])
            other = "userPrincipalName" if self.is_ad else "mail"
            return f"(|({attr}={local})({other}={escape_filter_chars(target)}))"
        return f"({attr}={escape_filter_chars(target)})"

    def _find(
        self, conn: ldap3.Connection, target: str, attributes: list[str]
    ) -> tuple[str, dict[str, list[str]]]:
        """The one entry ``target`` names: (DN, raw attribute values as str)."""
        target = target.strip()
        if not target:
            raise self._error("empty account name")
        base_dn = self._setting("base_dn")
        dn = _as_dn(target)
        if dn is not None:
            if not _under(dn, base_dn):
                raise self._error(f"account {target!r} is outside base_dn {base_dn}")
            try:
                conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=attributes)
            except ldap_exc.LDAPNoSuchObjectResult:
                raise self._error(f"account {target!r} not found under {base_dn}") from None
        else:
            conn.search(base_dn, self._account_filter(target), ldap3.SUBTREE, attributes=attributes)
        found = [r for r in conn.response or [] if r.get("type") == "searchResEntry"]
        if not found:
            raise self._error(f"account {target!r} not found under {base_dn}")
        if len(found) > 1:
            dns = "; ".join(r["dn"] for r in found[:5])
            raise self._error(f"account {target!r} is ambiguous: {len(found)} entries match ({dns})")
        entry = found[0]
        raw = {k.lower(): [_text(v) for v in vals] for k, vals in entry["raw_attributes"].items()}
        return entry["dn"], raw

    def _has_attribute(self, conn: ldap3.Connection, attribute: str) -> bool:
        schema = conn.server.schema
        return schema is not None and attribute in schema.attribute_types

    # ---- plan -------------------------------------------------------------------------------------------

    def plan(self, action: Action) -> Plan:
        if action.kind not in self.kinds:
            raise self._error(f"cannot carry out {action.kind}")
        if action.kind is ActionKind.remove_grant:
            return ldap_groups.plan_removal(self, action)
        with self._admin() as conn:
            if action.kind is ActionKind.reset_password:
                return self._plan_reset(conn, action)
            if self.is_ad:
                attr = "userAccountControl" if action.kind is ActionKind.disable_account else "pwdLastSet"
            else:
                attr = "pwdAccountLockedTime" if action.kind is ActionKind.disable_account else "pwdReset"
                if not self._has_attribute(conn, attr):
                    raise self._error(
                        f"{self.url} has no {attr} attribute: the password policy overlay (ppolicy) is "
                        f"needed to {action.kind.replace('_', ' ')}"
                    )
            dn, entry = self._find(conn, action.target, [attr])
        old = entry.get(attr.lower(), [])
        new, note = self._new_value(action.kind, attr, old)
        state = {"dn": dn, "attribute": attr, "old": old, "new": new}
        changes = [] if old == new else [f"replace {attr} of {dn}: {_show(old)} → {_show(new)} ({note})"]
        return Plan(action, self.name, changes, reversible=True, state=state)

    def _new_value(self, kind: ActionKind, attr: str, old: list[str]) -> tuple[list[str], str]:
        if attr == "userAccountControl":
            if not old:
                raise self._error("the account has no userAccountControl: is this an AD user?")
            return [str(int(old[0]) | ACCOUNTDISABLE)], "ACCOUNTDISABLE bit set: logons are refused"
        if attr == "pwdLastSet":
            return ["0"], "the password must be changed at the next logon"
        if kind is ActionKind.disable_account:
            return [LOCKED_FOREVER], "ppolicy permanent lock: binds refused where the policy has pwdLockout"
        return ["TRUE"], (
            "no sessions in LDAP: the password must be changed at the next login, where the policy has "
            "pwdMustChange"
        )

    def _plan_reset(self, conn: ldap3.Connection, action: Action) -> Plan:
        drop_dir = self._drop_dir()
        dn, _ = self._find(conn, action.target, ["objectClass"])
        if self.is_ad:
            if not (self.url.lower().startswith("ldaps://") or self._flag("start_tls")):
                raise self._error("AD accepts a new unicodePwd only over TLS: use ldaps:// or start_tls")
            method, what = "unicodePwd", f"replace unicodePwd of {dn}"
        elif _supports(conn, PASSWORD_MODIFY_OID):
            method, what = "password_modify", f"set userPassword of {dn} (Password Modify extended operation)"
        else:
            method, what = "replace", f"replace userPassword of {dn} (salted SHA hash)"
        change = (
            f"{what}: {SECRET} → {SECRET} (a new random password, written to a 0600 file in {drop_dir} "
            "for the account's owner)"
        )
        state = {"dn": dn, "method": method, "drop_dir": str(drop_dir)}
        return Plan(action, self.name, [change], reversible=False, state=state)

    def _drop_dir(self) -> Path:
        path = Path(self._setting("password_drop_dir")).expanduser()
        if path.exists() and not path.is_dir():
            raise self._error(f"password_drop_dir {path} is not a directory")
        return path

    # ---- execute ----------------------------------------------------------------------------------------

    def execute(self, plan: Plan) -> Outcome:
        if plan.action.kind is ActionKind.reset_password:
            return self._reset(plan)
        if plan.action.kind is ActionKind.remove_grant:
            return ldap_groups.remove(self, plan)
        state = plan.state
        dn, attr = state["dn"], state["attribute"]
        with self._admin() as conn:
            # The plan was approved for exactly these values: if the entry moved on since, re-plan.
            _, entry = self._find(conn, dn, [attr])
            current = entry.get(attr.lower(), [])
            if _same(current, state["new"]):
                return Outcome(True, f"{attr} of {dn} is already {_show(current)}", dict(state))
            if not _same(current, state["old"]):
                raise self._error(
                    f"{attr} of {dn} changed since the plan ({_show(state['old'])} → {_show(current)}): "
                    "plan again"
                )
            conn.modify(dn, {attr: [(ldap3.MODIFY_REPLACE, state["new"])]})
        log.info("ldap: %s of %s set to %s (%s)", attr, dn, _show(state["new"]), plan.action.kind)
        return Outcome(True, f"{plan.action.kind}: {attr} of {dn} set to {_show(state['new'])}", dict(state))

    def _reset(self, plan: Plan) -> Outcome:
        dn, method = plan.state["dn"], plan.state["method"]
        password = secrets.token_urlsafe(24)
        # The drop file is written first: if that fails nothing has changed; if the directory refuses the
        # new password the file is removed, so there is never a file with a password that is not set.
        drop = _write_drop(Path(plan.state["drop_dir"]), dn, plan.action.params.get("action_id"), password)
        try:
            with self._admin() as conn:
                if method == "password_modify":
                    conn.extend.standard.modify_password(user=dn, new_password=password)
                elif method == "unicodePwd":  # AD: the quoted password in UTF-16LE
                    value: bytes | str = f'"{password}"'.encode("utf-16-le")
                    conn.modify(dn, {"unicodePwd": [(ldap3.MODIFY_REPLACE, [value])]})
                else:
                    value = hashed(ldap3.HASHED_SALTED_SHA, password)
                    conn.modify(dn, {"userPassword": [(ldap3.MODIFY_REPLACE, [value])]})
        except BaseException:
            drop.unlink(missing_ok=True)
            raise
        log.info("ldap: password of %s reset; the new one is in %s", dn, drop)
        detail = f"password of {dn} reset; the new password is in {drop} (mode 0600) for the account's owner"
        return Outcome(True, detail, {"dn": dn, "method": method, "drop_file": str(drop)})

    # ---- verify -----------------------------------------------------------------------------------------

    def verify(self, plan: Plan, outcome: Outcome) -> Outcome:
        if plan.action.kind is ActionKind.remove_grant:
            return ldap_groups.check(self, plan, outcome)
        if plan.action.kind is ActionKind.reset_password:
            drop = Path(outcome.state["drop_file"])
            try:
                password = drop.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise self._error(f"cannot read the drop file {drop}: {exc.strerror}") from None
            dn = outcome.state["dn"]
            if self._user_can_bind(dn, password):
                return Outcome(True, f"{dn} binds with the new password from {drop}", dict(outcome.state))
            return Outcome(
                False, f"{dn} does not bind with the new password from {drop}", dict(outcome.state)
            )
        state = plan.state
        dn, attr = state["dn"], state["attribute"]
        expected = state["old"] if outcome.state.get("rolled_back") else state["new"]
        if outcome.state.get("rolled_back") and attr == "pwdLastSet" and state["old"] != ["0"]:
            expected = None  # AD sets pwdLastSet to the time of the rollback: any value but 0 is right
        with self._admin() as conn:
            _, entry = self._find(conn, dn, [attr])
        current = entry.get(attr.lower(), [])
        ok = current != ["0"] if expected is None else _same(current, expected)
        want = "not 0" if expected is None else _show(expected)
        return Outcome(ok, f"{attr} of {dn} is {_show(current)} (expected {want})", dict(outcome.state))

    # ---- rollback ---------------------------------------------------------------------------------------

    def rollback(self, plan: Plan, outcome: Outcome) -> Outcome:
        if plan.action.kind is ActionKind.reset_password:
            return Outcome(
                False,
                "a password reset cannot be undone; the old password is not kept (not even its hash, a "
                "secret too): the owner uses the new one from the drop file, or reset it again",
                dict(outcome.state),
            )
        if plan.action.kind is ActionKind.remove_grant:
            return ldap_groups.restore(self, plan, outcome)
        state = plan.state
        dn, attr = state["dn"], state["attribute"]
        # AD only lets pwdLastSet be set to 0 or -1 (now): -1 un-expires a password that was not expired.
        old = ["-1"] if attr == "pwdLastSet" and state["old"] not in ([], ["0"]) else state["old"]
        with self._admin() as conn:
            conn.modify(dn, {attr: [(ldap3.MODIFY_REPLACE, old)]})
        log.info("ldap: %s of %s restored to %s (rollback of %s)", attr, dn, _show(old), plan.action.kind)
        return Outcome(
            True, f"{attr} of {dn} restored to {_show(old)}", {**outcome.state, "rolled_back": True}
        )


def _write_drop(directory: Path, dn: str, action_id: Any, password: str) -> Path:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    rdn = parse_dn(dn)[0][1] if dn else "account"
    stem = _SAFE_NAME.sub("_", f"{rdn}-{action_id or secrets.token_hex(6)}")
    path = directory / f"{stem}.password"
    # O_EXCL: never write into a file (or a symlink) someone else put there; 0600 from the first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask could only have narrowed it, but say it exactly
        os.write(fd, f"{password}\n".encode())
    finally:
        os.close(fd)
    return path


def _as_dn(target: str) -> str | None:
    if "=" not in target:
        return None
    try:
        return str(safe_dn(target))
    except ldap_exc.LDAPException:
        return None


def _under(dn: str, base: str) -> bool:
    def norm(value: str) -> list[tuple[str, str]]:
        return [(a.lower(), v.lower()) for a, v, _ in parse_dn(value)]

    d, b = norm(dn), norm(base)
    return len(d) >= len(b) and d[len(d) - len(b) :] == b


def _supports(conn: ldap3.Connection, oid: str) -> bool:
    info = conn.server.info
    return info is not None and any(ext[0] == oid for ext in info.supported_extensions or [])


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _same(a: list[str], b: list[str]) -> bool:
    return sorted(v.upper() for v in a) == sorted(v.upper() for v in b)  # TRUE/true, 000001010000Z/z


def _show(values: list[str]) -> str:
    return "(none)" if not values else ", ".join(values)
