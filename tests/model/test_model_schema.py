"""The shipped JSON Schema is current and describes the example."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from sekimori.model import EXAMPLE_PATH, SCHEMA_PATH, json_schema, load_model_text, write_json_schema

SECTIONS = {
    "organisations": "Organisation",
    "contracts": "Contract",
    "realms": "Realm",
    "accounts": "AccountRule",
    "zones": "Zone",
    "hosts": "HostRule",
    "flows": "Flow",
    "systems": "System",
    "grants": "Grant",
    "data_stores": "DataStore",
    "admin_rights": "AdminRight",
    "credentials": "Credential",
}


def test_shipped_schema_is_up_to_date() -> None:
    shipped = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert shipped == json_schema(), "regenerate it: python -m sekimori.model schema"


def test_write_json_schema(tmp_path: Path) -> None:
    target = write_json_schema(tmp_path / "schema.json")
    assert json.loads(target.read_text(encoding="utf-8")) == json_schema()
    assert target.read_text(encoding="utf-8") == SCHEMA_PATH.read_text(encoding="utf-8")


def test_schema_structure() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "sekimori group model"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"version", "group", "organisations"}
    assert set(schema["properties"]) == {"version", "group", "description", *SECTIONS, "data_stores"}
    for section, definition in SECTIONS.items():
        assert schema["properties"][section]["items"] == {"$ref": f"#/$defs/{definition}"}
        assert schema["$defs"][definition]["additionalProperties"] is False
        assert schema["$defs"][definition]["description"]
    flow = schema["$defs"]["Flow"]["properties"]
    assert {"from", "to"} <= set(flow)  # the YAML keys, not the Python names
    assert {"const": "any"} in flow["ports"]["anyOf"]
    logon_types = schema["$defs"]["Grant"]["properties"]["logon_types"]["items"]["anyOf"]
    assert {"type": "integer", "enum": [2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13]} in logon_types
    cidr = schema["$defs"]["HostRule"]["properties"]["cidr"]["anyOf"]
    assert [alternative.get("type") for alternative in cidr] == ["string", "array", "null"]


def test_every_field_is_described() -> None:
    schema = json_schema()
    for name, definition in schema["$defs"].items():
        for field, spec in definition["properties"].items():
            assert spec.get("description"), f"{name}.{field} has no description"


def _check(data: Any, schema: dict[str, Any], defs: dict[str, Any], where: str) -> None:
    """The parts of JSON Schema the model uses: $ref, objects, arrays, required, additionalProperties."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].removeprefix("#/$defs/")]
    if schema.get("type") == "object":
        assert isinstance(data, dict), where
        assert set(schema.get("required", [])) <= set(data), (
            f"{where}: missing {set(schema['required']) - set(data)}"
        )
        assert set(data) <= set(schema["properties"]), (
            f"{where}: unknown {set(data) - set(schema['properties'])}"
        )
        for key, value in data.items():
            _check(value, schema["properties"][key], defs, f"{where}.{key}")
    elif schema.get("type") == "array" and isinstance(data, list):
        for index, item in enumerate(data):
            _check(item, schema["items"], defs, f"{where}[{index}]")


def test_schema_describes_the_example() -> None:
    schema = json_schema()
    example = yaml.safe_load(EXAMPLE_PATH.read_text(encoding="utf-8"))
    _check(example, schema, schema["$defs"], "example")


def test_example_points_editors_at_the_schema() -> None:
    first_line = EXAMPLE_PATH.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../group.schema.json"
    assert (EXAMPLE_PATH.parent / "../group.schema.json").resolve() == SCHEMA_PATH.resolve()


def test_the_example_in_the_docs_loads() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "model.md"
    text = docs.read_text(encoding="utf-8")
    excerpt = text.split("An excerpt of `examples/example-group.yaml`:\n\n```yaml\n", 1)[1].split("```", 1)[0]
    model = load_model_text(excerpt, str(docs))
    assert model.classify_account("CORP\\kr01234") == "affiliate-kr"
    assert model.classify_host("ctr-pc-7") == ("contractor-kr", "contractor-net")
