"""The trust model of a corporate group: who is whose, what may reach what, and which data is at stake.

A YAML file (see ``docs/model.md`` and ``examples/example-group.yaml``) describes the organisations of
a group and its contractors, their contracts, shared identity realms, network zones and flows,
systems, logon grants and the personal data in their data stores. Detection joins events with it to
see an attacker cross a trust boundary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekimori.lazy import lazy_exports
from sekimori.model.errors import Issue, ModelError
from sekimori.model.grants import AdminRight, Credential, Grant
from sekimori.model.group import GroupModel
from sekimori.model.loader import load_model, load_model_text, validate_model_data
from sekimori.model.network import Flow, HostRule, Zone
from sekimori.model.organisations import AccountRule, Contract, Organisation, Realm
from sekimori.model.schema_export import SCHEMA_PATH, json_schema, write_json_schema
from sekimori.model.sql import register_model
from sekimori.model.systems import DataStore, PersonalData, System
from sekimori.model.tables import TABLE_SCHEMAS

EXAMPLE_PATH = SCHEMA_PATH.with_name("examples") / "example-group.yaml"

if TYPE_CHECKING:
    from sekimori.model.access import GATE_CLASSES, INTERACTIVE_LOGON_TYPES, NETWORK_LOGON_TYPES, flow_opens
    from sekimori.model.first_match import AccountIndex, GlobLists, HostIndex
    from sekimori.model.keys import (
        HostDirectory,
        account_key,
        glob_forms,
        glob_matcher,
        glob_matches,
        host_key,
        host_names,
    )
    from sekimori.model.matching import (
        clean_host,
        first_account_match,
        first_host_match,
        parse_ip,
        role_account,
        signed_in_account_match,
        split_principal,
    )
    from sekimori.model.regex import model_regex

__all__ = [
    "EXAMPLE_PATH",
    "GATE_CLASSES",
    "INTERACTIVE_LOGON_TYPES",
    "NETWORK_LOGON_TYPES",
    "SCHEMA_PATH",
    "TABLE_SCHEMAS",
    "AccountIndex",
    "AccountRule",
    "AdminRight",
    "Contract",
    "Credential",
    "DataStore",
    "Flow",
    "GlobLists",
    "Grant",
    "GroupModel",
    "HostDirectory",
    "HostIndex",
    "HostRule",
    "Issue",
    "ModelError",
    "Organisation",
    "PersonalData",
    "Realm",
    "System",
    "Zone",
    "account_key",
    "clean_host",
    "first_account_match",
    "first_host_match",
    "flow_opens",
    "glob_forms",
    "glob_matcher",
    "glob_matches",
    "host_key",
    "host_names",
    "json_schema",
    "load_model",
    "load_model_text",
    "model_regex",
    "parse_ip",
    "register_model",
    "role_account",
    "signed_in_account_match",
    "split_principal",
    "validate_model_data",
    "write_json_schema",
]


# Names other stages use, imported when first asked for (a stage stays light to import).
_LAZY = {
    "GATE_CLASSES": "sekimori.model.access",
    "INTERACTIVE_LOGON_TYPES": "sekimori.model.access",
    "NETWORK_LOGON_TYPES": "sekimori.model.access",
    "flow_opens": "sekimori.model.access",
    "AccountIndex": "sekimori.model.first_match",
    "GlobLists": "sekimori.model.first_match",
    "HostIndex": "sekimori.model.first_match",
    "HostDirectory": "sekimori.model.keys",
    "account_key": "sekimori.model.keys",
    "glob_forms": "sekimori.model.keys",
    "glob_matcher": "sekimori.model.keys",
    "glob_matches": "sekimori.model.keys",
    "host_key": "sekimori.model.keys",
    "host_names": "sekimori.model.keys",
    "clean_host": "sekimori.model.matching",
    "first_account_match": "sekimori.model.matching",
    "role_account": "sekimori.model.matching",
    "signed_in_account_match": "sekimori.model.matching",
    "first_host_match": "sekimori.model.matching",
    "parse_ip": "sekimori.model.matching",
    "split_principal": "sekimori.model.matching",
    "model_regex": "sekimori.model.regex",
}


__getattr__ = lazy_exports(__name__, _LAZY)
