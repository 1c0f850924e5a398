"""The JSON Schema of model files, for editors (VS Code's YAML extension and others).

Regenerate the shipped copy after changing the model classes::

    python -m sekimori.model schema

and point a model file at it with ``# yaml-language-server: $schema=<path or URL of group.schema.json>``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sekimori.model.group import GroupModel

SCHEMA_PATH = Path(__file__).with_name("group.schema.json")
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_TITLE = "sekimori group model"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a model file (the YAML keys, so aliases such as ``from``)."""
    generated = GroupModel.model_json_schema(by_alias=True, mode="validation")
    generated.pop("title", None)
    return {"$schema": SCHEMA_DIALECT, "title": SCHEMA_TITLE, **generated}


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_json_schema(path: str | Path = SCHEMA_PATH) -> Path:
    """Write the JSON Schema to ``path`` (by default the copy shipped in the package)."""
    target = Path(path)
    target.write_text(schema_text(), encoding="utf-8")
    return target
