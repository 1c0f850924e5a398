"""The register's records as they are imported and exported: parties (affiliates, contractors and their
sub-contractors), contracts of entrustment (委託契約) and access grants, validated field by field.

One record is one row of a CSV file or one item of a YAML list; :data:`FIELDS` gives the columns of each
kind, in order. A list field (contacts, data categories…) is a YAML list, or in CSV its items joined by
``;`` (so an item may not hold a ``;``). Dates are ``YYYY-MM-DD``; an empty CSV cell is no value.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"  # as the group model's ids
LIST_SEPARATOR = ";"


class PartyKind(StrEnum):
    parent = "parent"
    subsidiary = "subsidiary"
    affiliate = "affiliate"
    contractor = "contractor"
    subcontractor = "subcontractor"  # re-entrusted by another party (再委託先)


class RiskTier(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class ContractStatus(StrEnum):
    draft = "draft"
    active = "active"
    suspended = "suspended"
    ended = "ended"


class SubjectKind(StrEnum):
    organisation = "organisation"  # every account of a tenant or domain
    group = "group"
    account = "account"
    idp_guest = "idp_guest"  # a guest account of another tenant in the IdP


class ObjectKind(StrEnum):
    system = "system"
    host = "host"
    application = "application"
    data_store = "data_store"


class AccessKind(StrEnum):
    # logon types of the group model (sekimori.model.Grant.logon_types) …
    interactive = "interactive"
    remote_interactive = "remote_interactive"
    network = "network"
    batch = "batch"
    service = "service"
    # … and its other access (Grant.access)
    application = "application"
    database = "database"


def _text_item(value: str) -> str:
    if value != value.strip() or not value:
        raise ValueError(f"expected text without leading or trailing spaces, got {value!r}")
    if LIST_SEPARATOR in value:
        raise ValueError(f"expected no {LIST_SEPARATOR!r} in a list item, got {value!r}")
    return value


Id = Annotated[str, Field(pattern=ID_PATTERN, max_length=100)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Item = Annotated[str, AfterValidator(_text_item)]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    def row(self) -> dict[str, Any]:
        """The record as plain values (enums as text, dates as dates), in :data:`FIELDS` order."""
        return self.model_dump(mode="python")


class PartyRecord(Record):
    """A party of the register: a group company or an outside party entrusted with work."""

    id: Id
    name: Text
    kind: PartyKind
    country: Country
    parent: Id | None = Field(default=None, description="The party that re-entrusted work to this one.")
    reentrustment_approved_by: Text | None = None
    reentrustment_approved_on: date | None = None
    contacts: list[Item] = Field(default_factory=list)
    risk_tier: RiskTier
    notes: Text | None = None

    @model_validator(mode="after")
    def _chain(self) -> PartyRecord:
        if self.kind is PartyKind.subcontractor and self.parent is None:
            raise ValueError("parent: a subcontractor needs the party that re-entrusted the work to it")
        if self.parent == self.id:
            raise ValueError("parent: a party cannot re-entrust work to itself")
        if self.reentrustment_approved_on is not None and self.reentrustment_approved_by is None:
            raise ValueError("reentrustment_approved_by: an approval date needs who approved it")
        return self


class ContractRecord(Record):
    """A contract of entrustment: ``entrusting`` (委託元) has ``party`` (委託先) handle personal data."""

    id: Id
    party: Id
    entrusting: Id
    purpose: Text
    data_categories: list[Item] = Field(default_factory=list)
    data_items: list[Item] = Field(default_factory=list)
    people: int = Field(ge=0)
    start: date
    end: date | None = None
    reentrustment_allowed: bool
    safety_clauses: list[Item] = Field(default_factory=list)
    audit_rights: bool
    status: ContractStatus
    systems: list[Id] = Field(default_factory=list)

    @model_validator(mode="after")
    def _dates(self) -> ContractRecord:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end: expected a day on or after the start ({self.start}), got {self.end}")
        if self.party == self.entrusting:
            raise ValueError("entrusting: expected a party other than the entrusted one")
        return self


class GrantRecord(Record):
    """An access grant: ``subject`` (of ``party``) may reach ``object`` with ``access``."""

    id: Id
    party: Id
    subject_kind: SubjectKind
    subject: Text
    object_kind: ObjectKind
    object: Text
    access: AccessKind
    justification: Text
    owner: Text
    contract: Id | None = None
    created: date
    expires: date | None = None

    @model_validator(mode="after")
    def _dates(self) -> GrantRecord:
        if self.expires is not None and self.expires < self.created:
            raise ValueError(
                f"expires: expected a day on or after the creation ({self.created}), got {self.expires}"
            )
        return self


def _is_list(annotation: Any) -> bool:
    return get_origin(annotation) is list


KINDS: dict[str, type[Record]] = {
    "parties": PartyRecord,
    "contracts": ContractRecord,
    "grants": GrantRecord,
}
SINGULAR = {"parties": "party", "contracts": "contract", "grants": "grant"}
FIELDS: dict[str, tuple[str, ...]] = {kind: tuple(model.model_fields) for kind, model in KINDS.items()}
LIST_FIELDS = {
    kind: frozenset(name for name, f in model.model_fields.items() if _is_list(f.annotation))
    for kind, model in KINDS.items()
}
# References checked on import: (kind, field) → the kind whose id it names.
REFERENCES: dict[tuple[str, str], str] = {
    ("parties", "parent"): "parties",
    ("contracts", "party"): "parties",
    ("contracts", "entrusting"): "parties",
    ("grants", "party"): "parties",
    ("grants", "contract"): "contracts",
}


class Problem(BaseModel):
    """What is wrong with one field of one row of one file."""

    model_config = ConfigDict(frozen=True)

    file: str
    row: int | None = None  # CSV: the spreadsheet row (the header is row 1); YAML: the line of the item
    field: str | None = None
    message: str

    def __str__(self) -> str:
        where = self.file + (f" row {self.row}" if self.row is not None else "")
        return where + (f" field {self.field}" if self.field else "") + f": {self.message}"


class RegisterError(Exception):
    """Input the register refuses, or an operation that is not allowed; ``problems`` names each file,
    row and field. Nothing was stored."""

    def __init__(self, problems: list[Problem] | str) -> None:
        self.problems = (
            [Problem(file="register", message=problems)] if isinstance(problems, str) else problems
        )
        shown = "; ".join(str(p) for p in self.problems[:10])
        more = f"; … {len(self.problems) - 10} more" if len(self.problems) > 10 else ""
        super().__init__(shown + more)
