"""Commands over the Sigma rules: which can run on what sekimori reads, and which fired."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sekimori.cli.common import console, open_store, out

sigma_app = typer.Typer(help="The Sigma rules: coverage of the log sources.", no_args_is_help=True)


@sigma_app.command("coverage")
def coverage_command(
    store: Annotated[
        Path | None,
        typer.Option("--store", "-s", envvar="SEKIMORI_STORE", help="Count the rules that fired."),
    ] = None,
    rules: Annotated[
        str | None, typer.Option(help="Rules (directory, zip, file); default the bundled.")
    ] = None,
    unrunnable: Annotated[
        bool,
        typer.Option(
            "--unrunnable", help="List each rule that cannot run, or runs without some of its fields."
        ),
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Everything as one JSON object on stdout.")
    ] = False,
) -> None:
    """Per log source: the rules, how many compiled, how many run on the store's events, how many fired;
    a rule that cannot run is counted with its reason (--unrunnable lists them)."""
    from sekimori.detect import sigma_coverage

    found = sigma_coverage(open_store(store) if store is not None else None, rules)
    if json_out:
        print(json.dumps(found.to_dict(), ensure_ascii=False))
        return
    table = Table(title=f"Sigma coverage ({found.files:,} rule files, {found.correlations} correlations)")
    for col in ("log source", "rules", "compiled", "runnable", "fired", "why the others cannot run"):
        table.add_column(
            col, justify="left" if col in ("log source", "why the others cannot run") else "right"
        )
    for row in found.rows:
        reasons = sorted(
            {r.reason.split(":")[0] if r.reason.startswith("did not") else r.reason for r in row.not_runnable}
        )
        table.add_row(
            escape(row.logsource),
            f"{row.rules:,}",
            f"{row.compiled:,}",
            f"{row.runnable:,}",
            f"{row.fired:,}" if store is not None else "–",
            escape("; ".join(reasons)),
        )
    totals = found.totals()
    table.add_row(
        "[bold]in all[/]",
        f"{totals['rules']:,}",
        f"{totals['compiled']:,}",
        f"{totals['runnable']:,}",
        f"{totals['fired']:,}" if store is not None else "–",
        "",
    )
    out.print(table)
    if unrunnable:
        for row in found.rows:
            for rule in [*row.not_runnable, *row.partial]:
                what = f"{rule.id or '–'}  {rule.title or rule.path}"
                out.print(f"{escape(row.logsource)}  {escape(what)}: {escape(rule.reason)}", highlight=False)
    elif any(row.not_runnable for row in found.rows):
        console.print("[dim]each rule that cannot run, with its reason: --unrunnable (or --json)[/]")
