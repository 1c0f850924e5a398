"""What is at stake: systems and their hosts, and the data stores with the personal data they hold."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sekimori.model.fields import ApplicationList, Count, HostGlob, Id, Text
from sekimori.model.section import Section

DatabaseEngine = Literal["mssql", "postgresql", "mysql", "oracle", "mongodb", "redis"]


class System(Section):
    """A system (application or service) and the hosts it runs on."""

    id: Id = Field(description="Unique id of the system.")
    name: Text = Field(description="Human-readable name.")
    owner: Id = Field(description="Id of the organisation that owns the system.")
    zone: Id = Field(description="Id of the zone the system is in.")
    hosts: list[HostGlob] = Field(
        default_factory=list,
        description="Host names or globs ('*' any characters, '?' one) of the system's hosts, matched "
        "case-insensitively against the full and the short host name.",
    )
    applications: ApplicationList = Field(
        default_factory=list,
        description="How identity-provider and cloud logs name the system's applications (Entra "
        "appDisplayName or appId, an Okta app, an AWS service such as s3.amazonaws.com); a sign-in to one "
        "of them is a sign-in to this system. Case-insensitive.",
    )
    tenant: Id | None = Field(
        default=None,
        description="Id of the realm (IdP tenant or cloud account) its applications sign in through.",
    )
    crown_jewel: bool = Field(
        default=False, description="Whether compromise of this system is a top-level risk."
    )
    description: str | None = Field(default=None, description="Free text.")


class PersonalData(Section):
    """Personal data held in a data store, per category of data subject."""

    category: Literal["user", "business_partner", "employee", "other"] = Field(
        description="Whose data: users (customers), business partners, employees, or other people."
    )
    items: list[Text] = Field(
        min_length=1, description="What is held: name, email, internal_id, address, phone, …"
    )
    records: Count = Field(description="Number of people (or records) held.")
    secrecy_of_communications: bool = Field(
        default=False, description="Whether it includes communications content protected as 通信の秘密."
    )
    sensitive: bool = Field(
        default=False, description="Whether it includes 要配慮個人情報 (special care-required data)."
    )
    financial: bool = Field(
        default=False,
        description="Whether it includes financial data (card numbers, bank accounts) whose leak is to be "
        "reported (under APPI when it may be misused for property damage).",
    )
    tables: list[str] = Field(default_factory=list, description="Database tables holding the data.")
    paths: list[str] = Field(default_factory=list, description="File or object paths holding the data.")
    population: Id | None = Field(
        default=None,
        description="Id of the set of people these records are about. Entries with the same population and "
        "category (in any data store) hold records of the same people, each a subset of the largest, so "
        "they are counted once. Default: '<data store id>.<category>', the store's own people.",
    )


class DataStore(Section):
    """A database, file share, SaaS or object store, and the personal data in it."""

    id: Id = Field(description="Unique id of the data store.")
    name: Text = Field(description="Human-readable name.")
    system: Id = Field(description="Id of the system the data store belongs to.")
    owner: Id = Field(description="Id of the organisation that owns the data store.")
    kind: Literal["database", "file_share", "saas", "object_store"] = Field(
        description="What kind of store it is."
    )
    hosts: list[HostGlob] = Field(
        default_factory=list, description="Host names or globs of the store's hosts."
    )
    engine: DatabaseEngine | None = Field(
        default=None,
        description="Database engine (mssql, postgresql, mysql, oracle, mongodb, redis): the port a "
        "database credential needs. None: any of them.",
    )
    personal_data: list[PersonalData] = Field(default_factory=list, description="Personal data held.")
    description: str | None = Field(default=None, description="Free text.")

    def people(self) -> dict[str, int]:
        """People held per category: the largest entry of each population (entries of one population
        are the same people), summed over the store's populations (80,000 own + 40,000 shared with
        another store are 120,000)."""
        largest: dict[tuple[str, str], int] = {}
        for pd in self.personal_data:
            key = (pd.category, pd.population or f"{self.id}.{pd.category}")
            largest[key] = max(largest.get(key, 0), pd.records)
        out: dict[str, int] = {}
        for (category, _), records in largest.items():
            out[category] = out.get(category, 0) + records
        return out
