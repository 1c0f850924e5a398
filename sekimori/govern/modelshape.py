"""The register in the group model's shape: its parties as organisations, its contracts and its grants as
the model's sections (:mod:`sekimori.model`), so that a later step can merge them into the model the
graph and the boundary rules judge against.

What the model cannot say is listed rather than guessed: a grant to an application or a data store (the
model's grants name systems and hosts), and a grant narrower than an organisation (the model grants to all
of an organisation's principals; such a grant is exported for its organisation and listed in ``widened``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from sekimori.govern.files import RegisterRecords
from sekimori.govern.records import (
    AccessKind,
    ContractRecord,
    GrantRecord,
    ObjectKind,
    PartyKind,
    PartyRecord,
    SubjectKind,
)
from sekimori.govern.register import Register
from sekimori.model import Contract, Grant, Organisation

# The model's organisation kinds: a sub-contractor is a contractor (its chain stays in the register).
MODEL_KIND = {PartyKind.subcontractor: "contractor"}
MODEL_ACCESS = frozenset({AccessKind.application, AccessKind.database})  # Grant.access, not a logon type


@dataclass
class ModelSections:
    organisations: list[Organisation] = field(default_factory=list)
    contracts: list[Contract] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "<kind> <id>: why it is not in the model's shape"
    widened: list[str] = field(default_factory=list)  # grant ids exported for the whole organisation


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc']) or 'record'}: {error['msg']}"


def model_sections(register: Register | RegisterRecords) -> ModelSections:
    """The register's parties, contracts and grants (a :class:`Register` or its records) as the group
    model's sections."""
    records = register.records() if isinstance(register, Register) else register
    parties = [r for r in records.get("parties", []) if isinstance(r, PartyRecord)]
    contracts = [r for r in records.get("contracts", []) if isinstance(r, ContractRecord)]
    grants = [r for r in records.get("grants", []) if isinstance(r, GrantRecord)]
    out = ModelSections()
    for party in parties:
        try:
            out.organisations.append(
                Organisation.model_validate(
                    {
                        "id": party.id,
                        "name": party.name,
                        "kind": MODEL_KIND.get(party.kind, str(party.kind)),
                        "country": party.country,
                        "description": party.notes,
                    }
                )
            )
        except ValidationError as exc:
            out.skipped.append(f"party {party.id}: {_first_error(exc)}")
    for contract in contracts:
        try:
            out.contracts.append(
                Contract(
                    id=contract.id,
                    entrusting=contract.entrusting,
                    entrusted=contract.party,
                    scope=contract.purpose,
                    start=contract.start,
                    end=contract.end,
                    systems=list(contract.systems),
                )
            )
        except ValidationError as exc:
            out.skipped.append(f"contract {contract.id}: {_first_error(exc)}")
    for grant in grants:
        if grant.object_kind in (ObjectKind.application, ObjectKind.data_store):
            out.skipped.append(
                f"grant {grant.id}: the model's grants name systems and hosts, not an {grant.object_kind} "
                f"({grant.object}); name its system"
            )
            continue
        access, subject = str(grant.access), f"{grant.subject_kind} {grant.subject}"
        try:
            out.grants.append(
                Grant.model_validate(
                    {
                        "id": grant.id,
                        "org": grant.party,
                        "systems": [grant.object] if grant.object_kind is ObjectKind.system else [],
                        "hosts": [grant.object] if grant.object_kind is ObjectKind.host else [],
                        "logon_types": [] if grant.access in MODEL_ACCESS else [access],
                        "access": [access] if grant.access in MODEL_ACCESS else [],
                        "expires": grant.expires,
                        "owner": grant.owner,
                        "description": f"{grant.justification} (register: {subject})",
                    }
                )
            )
        except ValidationError as exc:
            out.skipped.append(f"grant {grant.id}: {_first_error(exc)}")
            continue
        if grant.subject_kind is not SubjectKind.organisation:
            out.widened.append(grant.id)
    return out
