"""Group memberships in an LDAP directory: the LDAP connector's ``remove_grant``.

A grant of the register (as :func:`sekimori.govern.propose_revocations` hands it over) names its subject
and object in the action's params: ``subject`` ``"account bob"`` and ``object`` ``"application
cn=billing-ops,ou=groups,dc=example,dc=test"`` (the object's kind, then the group's DN; a bare DN is taken
too). The group must be under ``base_dn`` and of object class ``groupOfNames`` or ``group`` (AD), whose
members are in ``member``, or ``groupOfUniqueNames`` (``uniqueMember``); the account is found as for the
other actions (a name, ``CORP\\name``, ``name@domain`` or a DN).

* plan: the one ``member``/``uniqueMember`` value of the group that is the account's DN. Refused (with the
  grant, the group and the account named) when the group is not found, outside ``base_dn`` or not a
  group, when the account is not found, when it is not a member, and when it is the only member of a
  ``groupOfNames``/``groupOfUniqueNames`` (the schema needs one), and for an AD group so large that its
  members come in ranges (not read here: a partial list could miss the member). "Not a member" is a
  refusal, not an empty plan: the register says the account has this access and the directory disagrees,
  so the access may come another way (a nested group, another directory) and a person must look; marking
  the revoke done would hide that.
* execute: an LDAP modify deleting that value only (never a replace of the attribute: members added or
  removed by others meanwhile stay as they are). Already gone by then: nothing is done, and the outcome
  says so (``removed`` false), so that a rollback does not add an access this action never took away.
* verify: the group re-read; the value must be gone (after a rollback: back).
* rollback: the value added back (modify add), if the account still exists and is not back already.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import ldap3
from ldap3.core import exceptions as ldap_exc
from ldap3.utils.dn import parse_dn, safe_dn

from sekimori.respond.actions import Action, Outcome, Plan

if TYPE_CHECKING:
    from sekimori.respond.connectors.ldap import LdapConnector

log = logging.getLogger("sekimori.respond.connectors.ldap")  # the connector's own log

# object class (lower-case) → the attribute holding its members' DNs
GROUP_CLASSES = {"groupofnames": "member", "groupofuniquenames": "uniqueMember", "group": "member"}
CLASS_NAMES = {"groupofnames": "groupOfNames", "groupofuniquenames": "groupOfUniqueNames", "group": "group"}
_UNIQUE_SUFFIX = re.compile(
    r"#'[01]*'B$"
)  # uniqueMember's optional unique identifier (RFC 4517 NameAndOptionalUID)


def _dn_key(dn: str) -> tuple[tuple[str, str], ...]:
    """A DN compared as the directory does for these names: attribute types and values case-insensitive,
    spacing around separators ignored."""
    try:
        return tuple((a.strip().lower(), v.strip().lower()) for a, v, _ in parse_dn(dn))
    except ldap_exc.LDAPException:
        return ((dn.strip().lower(), ""),)


def _under(dn: str, base: str) -> bool:
    d, b = _dn_key(dn), _dn_key(base)
    return len(d) >= len(b) and d[len(d) - len(b) :] == b


def _value_dn(value: str, attribute: str) -> str:
    return _UNIQUE_SUFFIX.sub("", value) if attribute == "uniqueMember" else value


def _find_value(values: list[str], member: str, attribute: str) -> str | None:
    """The stored value of ``values`` naming the DN ``member``, as the directory holds it."""
    key = _dn_key(_value_dn(member, attribute))
    return next((v for v in values if _dn_key(_value_dn(v, attribute)) == key), None)


def _group_dn(obj: str) -> str | None:
    """The DN of an object ``"<kind> <DN>"`` or ``"<DN>"``; None when it is no DN."""
    text = obj.strip()
    words = text.split(None, 1)
    if len(words) == 2 and "=" not in words[0]:  # the kind ("application"): a DN's first word has a '='
        text = words[1].strip()
    if "=" not in text:
        return None
    try:
        return str(safe_dn(text))
    except ldap_exc.LDAPException:
        return None


def _account(subject: str) -> str | None:
    """The account name of a subject ``"account <name>"``; None for any other kind of subject."""
    kind, _, name = subject.strip().partition(" ")
    return name.strip() or None if kind.lower() == "account" else None


def _read_group(conn: ldap3.Connection, group: str) -> dict[str, list[str]] | None:
    """The group's objectClass and member values (raw, as str), or None when there is no such entry."""
    try:
        conn.search(
            group,
            "(objectClass=*)",
            ldap3.BASE,
            attributes=["objectClass", *sorted(set(GROUP_CLASSES.values()))],
        )
    except ldap_exc.LDAPNoSuchObjectResult:
        return None
    found = [r for r in conn.response or [] if r.get("type") == "searchResEntry"]
    if not found:
        return None
    return {k.lower(): [_text(v) for v in vals] for k, vals in found[0]["raw_attributes"].items()}


def _values(connector: LdapConnector, entry: dict[str, list[str]], attribute: str, named: str) -> list[str]:
    if any(k.startswith(f"{attribute.lower()};range=") for k in entry):
        # AD hands out the members of a large group in ranges: a partial list could miss the member.
        raise connector._error(f"{named}: the group's {attribute} is too large to be read at once (ranged)")
    return entry.get(attribute.lower(), [])


def _members(connector: LdapConnector, conn: ldap3.Connection, state: dict[str, Any]) -> list[str]:
    entry = _read_group(conn, state["group"])
    named = f"grant {state['grant']!r}: group {state['group']}"
    if entry is None:
        raise connector._error(f"{named} no longer exists")
    return _values(connector, entry, state["attribute"], named)


def plan_removal(connector: LdapConnector, action: Action) -> Plan:
    grant = action.target
    subject, obj = str(action.params.get("subject") or ""), str(action.params.get("object") or "")
    account, group = _account(subject), _group_dn(obj)
    if account is None:
        raise connector._error(
            f"grant {grant!r}: subject {subject!r} is not an account (params 'subject': 'account <name>')"
        )
    if group is None:
        raise connector._error(
            f"grant {grant!r}: object {obj!r} names no LDAP group DN (params 'object': '<kind> <group DN>')"
        )
    base = connector._setting("base_dn")
    named = f"group {group}, account {account!r}"
    if not _under(group, base):
        raise connector._error(f"grant {grant!r}: {named}: the group is outside base_dn {base}")
    with connector._admin() as conn:
        entry = _read_group(conn, group)
        if entry is None:
            raise connector._error(f"grant {grant!r}: {named}: the group is not found under {base}")
        classes = {c.lower() for c in entry.get("objectclass", [])}
        kind = next((c for c in GROUP_CLASSES if c in classes), None)
        if kind is None:
            shown = ", ".join(entry.get("objectclass", [])) or "(none)"
            raise connector._error(
                f"grant {grant!r}: {named}: not a group (objectClass {shown}; expected groupOfNames, "
                "groupOfUniqueNames or group)"
            )
        attribute = GROUP_CLASSES[kind]
        member_dn, _ = connector._find(conn, account, ["objectClass"])
    values = _values(connector, entry, attribute, f"grant {grant!r}: {named}")
    value = _find_value(values, member_dn, attribute)
    if value is None:
        raise connector._error(
            f"grant {grant!r}: {named}: {member_dn} is not a {attribute} of the group: nothing to remove "
            "(the register and the directory disagree: check how the account gets this access)"
        )
    if len(values) == 1 and kind != "group":
        raise connector._error(
            f"grant {grant!r}: {named}: {member_dn} is the group's only {attribute}, which "
            f"{CLASS_NAMES[kind]} requires "
            "(add another member or remove the group by hand)"
        )
    change = f"delete {attribute} {value} from {group} (that value only: the other members stay as they are)"
    state = {"grant": grant, "group": group, "attribute": attribute, "member": value}
    return Plan(action, connector.name, [change], reversible=True, state=state)


def remove(connector: LdapConnector, plan: Plan) -> Outcome:
    state = plan.state
    group, attribute, member = state["group"], state["attribute"], state["member"]
    with connector._admin() as conn:
        present = _find_value(_members(connector, conn, state), member, attribute)
        if present is not None:
            try:
                # MODIFY_DELETE of this one value: a replace would undo concurrent changes of other members.
                conn.modify(group, {attribute: [(ldap3.MODIFY_DELETE, [present])]})
            except ldap_exc.LDAPNoSuchAttributeResult:  # removed by someone else between read and modify
                present = None
    if present is None:
        detail = f"{member} was no longer a {attribute} of {group} when the action ran: nothing removed"
        return Outcome(True, detail, {**state, "removed": False})
    log.info("ldap: %s removed from %s of %s (remove_grant %s)", member, attribute, group, state["grant"])
    return Outcome(
        True, f"remove_grant: {member} removed from {attribute} of {group}", {**state, "removed": True}
    )


def check(connector: LdapConnector, plan: Plan, outcome: Outcome) -> Outcome:
    state = plan.state
    group, attribute, member = state["group"], state["attribute"], state["member"]
    want_member = bool(outcome.state.get("rolled_back"))
    with connector._admin() as conn:
        present = _find_value(_members(connector, conn, state), member, attribute) is not None
    shown = f"{member} is {'a' if present else 'not a'} {attribute} of {group}"
    return Outcome(
        present == want_member,
        f"{shown} (expected {'a member' if want_member else 'gone'})",
        dict(outcome.state),
    )


def restore(connector: LdapConnector, plan: Plan, outcome: Outcome) -> Outcome:
    state = plan.state
    group, attribute, member = state["group"], state["attribute"], state["member"]
    if outcome.state.get("removed") is False:
        return Outcome(
            False,
            f"{member} was not removed from {group} by this action (already gone when it ran): nothing to "
            "put back; add it by hand if it should be a member",
            dict(outcome.state),
        )
    with connector._admin() as conn:
        # Never add back a DN that no longer names an account: that could hand the access to a new entry.
        connector._find(conn, _value_dn(member, attribute), ["objectClass"])
        added = _find_value(_members(connector, conn, state), member, attribute) is None
        if added:
            try:
                conn.modify(group, {attribute: [(ldap3.MODIFY_ADD, [member])]})
            except ldap_exc.LDAPAttributeOrValueExistsResult:  # put back by someone else meanwhile
                added = False
    if added:
        log.info(
            "ldap: %s added back to %s of %s (rollback of remove_grant %s)",
            member,
            attribute,
            group,
            state["grant"],
        )
        detail = f"{member} added back to {attribute} of {group}"
    else:
        detail = f"{member} is a {attribute} of {group} already: nothing to add back"
    return Outcome(True, detail, {**outcome.state, "rolled_back": True})


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
