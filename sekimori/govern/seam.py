"""The register merged into a loaded group model, so that the graph and the boundary rules judge against the
current register (not against what the model file said when it was written).

The register is authoritative for its parties: an organisation of the register replaces the model's of the
same id; the contracts entrusted to a register party and the grants of a register party other than a parent
are the register's (the model's own are dropped, and listed); the model's contracts and grants of other
organisations stay, and so do a parent's grants to its own staff (the register governs the access of the
parties it entrusts, not the parent's internal access; a parent's grants in the register are added).

References are checked before the model is built, each problem naming the register record and field: a
grant's system, application or data store must be in the model, and a contract's parties organisations of
the merged model. What the model cannot say exactly is resolved as closely as it allows, and said:

* a grant to an *application* becomes a grant to the system(s) whose ``applications`` name it;
* a grant to a *data store* becomes a grant to the data store's system (with ``database`` access: every
  database store of that system, listed in ``widened`` when the system has other data stores);
* a grant narrower than an organisation (a group, an account, an IdP guest) is granted to the whole
  organisation, as the model's grants are (listed in ``widened``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sekimori.govern.files import RegisterRecords
from sekimori.govern.modelshape import MODEL_ACCESS, MODEL_KIND
from sekimori.govern.records import (
    ContractRecord,
    GrantRecord,
    ObjectKind,
    PartyKind,
    PartyRecord,
    Problem,
    RegisterError,
    SubjectKind,
)
from sekimori.govern.register import Register
from sekimori.model import GroupModel, validate_model_data

SOURCE = "register"


@dataclass
class MergedModel:
    """The merged model and what the merge did that a reader should know."""

    model: GroupModel
    resolved: list[str] = field(default_factory=list)  # "grant G: application A → system S"
    widened: list[str] = field(default_factory=list)  # what the model grants more widely than the register
    dropped: dict[str, list[str]] = field(
        default_factory=dict
    )  # model contracts/grants the register replaced

    def to_dict(self) -> dict[str, Any]:
        return {"resolved": self.resolved, "widened": self.widened, "dropped": self.dropped}


def _records(register: Register | RegisterRecords) -> RegisterRecords:
    return register.records() if isinstance(register, Register) else register


def _systems_of(grant: GrantRecord, model: GroupModel) -> tuple[list[str], list[str], str | None]:
    """(systems, hosts, problem) the model grants for the register grant's object."""
    target = grant.object.strip()
    if grant.object_kind is ObjectKind.host:
        return [], [target], None
    if grant.object_kind is ObjectKind.system:
        if target in {s.id for s in model.systems}:
            return [target], [], None
        return [], [], f"unknown system {target!r} (not in the group model)"
    if grant.object_kind is ObjectKind.application:
        wanted = target.casefold()
        found = [s.id for s in model.systems if wanted in {a.casefold() for a in s.applications}]
        if found:
            return found, [], None
        return [], [], f"no system of the group model serves the application {target!r}"
    store = next((d for d in model.data_stores if d.id == target), None)
    if store is None:
        return [], [], f"unknown data store {target!r} (not in the group model)"
    return [store.system], [], None


def merge_register(model: GroupModel, register: Register | RegisterRecords) -> MergedModel:
    """``model`` with the register's organisations, contracts and grants (see the module docstring);
    :class:`RegisterError` names every record whose reference the model does not hold."""
    records = _records(register)
    parties = [r for r in records.get("parties", []) if isinstance(r, PartyRecord)]
    contracts = [r for r in records.get("contracts", []) if isinstance(r, ContractRecord)]
    grants = [r for r in records.get("grants", []) if isinstance(r, GrantRecord)]
    data = model.model_dump(by_alias=True, mode="python", exclude_none=True)
    # exclude_none drops a flow's ports before its serializer writes None as "any": put it back.
    for dumped in data.get("flows", []):
        dumped.setdefault("ports", "any")
    own = {p.id for p in parties if p.kind is not PartyKind.parent}  # a parent's own staff: the model's
    merged = MergedModel(model)
    problems: list[Problem] = []

    organisations = {o["id"]: o for o in data["organisations"]}
    for party in parties:
        description = party.notes or organisations.get(party.id, {}).get("description")
        organisations[party.id] = {
            "id": party.id,
            "name": party.name,
            "kind": MODEL_KIND.get(party.kind, str(party.kind)),
            "country": party.country,
            **({"description": description} if description else {}),
        }
    data["organisations"] = list(organisations.values())

    system_ids = {s.id for s in model.systems}
    kept_contracts = [c for c in data.get("contracts", []) if c["entrusted"] not in own]
    dropped = [c["id"] for c in data.get("contracts", []) if c["entrusted"] in own]
    for contract in contracts:
        for name, value in (("party", contract.party), ("entrusting", contract.entrusting)):
            if value not in organisations:
                problems.append(_problem("contract", contract.id, name, f"unknown organisation {value!r}"))
        for system in contract.systems:
            if system not in system_ids:
                problems.append(
                    _problem(
                        "contract", contract.id, "systems", f"unknown system {system!r} (not in the model)"
                    )
                )
        kept_contracts.append(
            {
                "id": contract.id,
                "entrusting": contract.entrusting,
                "entrusted": contract.party,
                "scope": contract.purpose,
                "start": contract.start,
                **({"end": contract.end} if contract.end else {}),
                "systems": [s for s in contract.systems if s in system_ids],
            }
        )
    data["contracts"] = kept_contracts
    if dropped:
        merged.dropped["contracts"] = dropped

    kept_grants = [g for g in data.get("grants", []) if g["org"] not in own]
    dropped = [g["id"] for g in data.get("grants", []) if g["org"] in own]
    for grant in grants:
        systems, hosts, problem = _systems_of(grant, model)
        if problem is not None:
            problems.append(_problem("grant", grant.id, "object", problem))
            continue
        if grant.party not in organisations:
            problems.append(_problem("grant", grant.id, "party", f"unknown organisation {grant.party!r}"))
            continue
        if grant.object_kind in (ObjectKind.application, ObjectKind.data_store):
            merged.resolved.append(
                f"grant {grant.id}: {grant.object_kind} {grant.object} → system {', '.join(systems)}"
            )
        if grant.object_kind is ObjectKind.data_store:
            others = [d.id for d in model.data_stores if d.system == systems[0] and d.id != grant.object]
            if others:
                merged.widened.append(
                    f"grant {grant.id}: data store {grant.object} → every store of system {systems[0]} "
                    f"(also {', '.join(others)})"
                )
        if grant.subject_kind is not SubjectKind.organisation:
            merged.widened.append(
                f"grant {grant.id}: {grant.subject_kind} {grant.subject} → every principal of {grant.party}"
            )
        access = str(grant.access)
        kept_grants.append(
            {
                "id": grant.id,
                "org": grant.party,
                "systems": systems,
                "hosts": hosts,
                "logon_types": [] if grant.access in MODEL_ACCESS else [access],
                "access": [access] if grant.access in MODEL_ACCESS else [],
                **({"expires": grant.expires} if grant.expires else {}),
                "owner": grant.owner,
                "description": f"{grant.justification} (register: {grant.subject_kind} {grant.subject})",
            }
        )
    data["grants"] = kept_grants
    if dropped:
        merged.dropped["grants"] = dropped
    if problems:
        raise RegisterError(problems)
    merged.model = validate_model_data(data, SOURCE)
    return merged


def model_with_register(model: GroupModel, register: Register | RegisterRecords) -> GroupModel:
    """The group model the graph and the boundary rules judge with: ``model`` with the current register
    merged in (:func:`merge_register`)."""
    return merge_register(model, register).model


def _problem(kind: str, record_id: str, field_name: str, message: str) -> Problem:
    return Problem(file=SOURCE, field=field_name, message=f"{kind} {record_id}: {message}")
