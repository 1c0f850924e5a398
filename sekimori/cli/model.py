"""Commands over the group model: validate, schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from sekimori.cli.app import model_app
from sekimori.cli.common import console


@model_app.command("validate")
def model_validate(
    path: Annotated[Path, typer.Argument(help="Group model YAML file.")],
    json_out: Annotated[bool, typer.Option("--json", help="Problems (or the summary) as JSON.")] = False,
) -> None:
    """Check a group model; every problem names the file, line and field."""
    from sekimori.model import ModelError, load_model

    try:
        model = load_model(path)
    except ModelError as exc:
        if json_out:
            print(json.dumps({"valid": False, "issues": [vars(i) for i in exc.issues]}, ensure_ascii=False))
        else:
            for issue in exc.issues:
                console.print(escape(str(issue)), soft_wrap=True, highlight=False)
            console.print(f"[bold red]{len(exc.issues)} problem(s)[/] in {escape(str(path))}")
        raise typer.Exit(1) from exc
    counts = {name: table.num_rows for name, table in model.tables().items()}
    if json_out:
        print(json.dumps({"valid": True, "tables": counts}))
        return
    summary = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
    console.print(f"[green]valid[/]: {escape(str(path))} — {summary}", soft_wrap=True)


@model_app.command("schema")
def model_schema() -> None:
    """Print the JSON Schema of the model format (for editors)."""
    from sekimori.model import json_schema

    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
