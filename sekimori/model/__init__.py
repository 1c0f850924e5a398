"""The trust model of a corporate group: who is whose, what may reach what, and which data is at stake.

A YAML file (see ``docs/model.md`` and ``examples/example-group.yaml``) describes the organisations of
a group and its contractors, their contracts, shared identity realms, network zones and flows,
systems, logon grants and the personal data in their data stores. Detection joins events with it to
see an attacker cross a trust boundary.
"""

from sekimori.model.errors import Issue, ModelError
from sekimori.model.group import (
    AccountRule,
    AdminRight,
    Contract,
    Credential,
    DataStore,
    Flow,
    Grant,
    GroupModel,
    HostRule,
    Organisation,
    PersonalData,
    Realm,
    System,
    Zone,
)
from sekimori.model.loader import load_model, load_model_text, validate_model_data
from sekimori.model.schema_export import SCHEMA_PATH, json_schema, write_json_schema
from sekimori.model.sql import register_model
from sekimori.model.tables import TABLE_SCHEMAS

EXAMPLE_PATH = SCHEMA_PATH.with_name("examples") / "example-group.yaml"

__all__ = [
    "EXAMPLE_PATH",
    "SCHEMA_PATH",
    "TABLE_SCHEMAS",
    "AccountRule",
    "AdminRight",
    "Contract",
    "Credential",
    "DataStore",
    "Flow",
    "Grant",
    "GroupModel",
    "HostRule",
    "Issue",
    "ModelError",
    "Organisation",
    "PersonalData",
    "Realm",
    "System",
    "Zone",
    "json_schema",
    "load_model",
    "load_model_text",
    "register_model",
    "validate_model_data",
    "write_json_schema",
]
