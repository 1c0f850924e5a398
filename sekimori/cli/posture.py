"""Commands over the group's security posture: sign-ins (MFA, legacy protocols, other networks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sekimori.cli.common import DEFAULT_STORE, StoreOption, load_model_or_fail, open_store, out

posture_app = typer.Typer(help="The group's security posture, per organisation.", no_args_is_help=True)


@posture_app.command("signins")
def signins_command(
    model: Annotated[Path, typer.Option("--model", "-m", envvar="SEKIMORI_MODEL", help="Group model YAML.")],
    store: StoreOption = DEFAULT_STORE,
    json_out: Annotated[bool, typer.Option("--json", help="The table as one JSON object on stdout.")] = False,
) -> None:
    """Per organisation and tenant: sign-ins without MFA, accounts that never used MFA, legacy protocols,
    sign-ins from another organisation's network."""
    from sekimori.detect import signin_posture

    posture = signin_posture(open_store(store), load_model_or_fail(model))
    if json_out:
        print(json.dumps(posture.to_dict(), ensure_ascii=False))
        return
    table = Table(title="sign-in posture (successful sign-ins; failures apart)")
    for col in (
        "organisation",
        "tenant",
        "accounts",
        "sign-ins",
        "without MFA",
        "MFA unknown",
        "legacy",
        "other network",
        "failures",
        "accounts never MFA",
    ):
        table.add_column(
            col, justify="left" if col in ("organisation", "tenant", "accounts never MFA") else "right"
        )
    for row in posture.rows:
        share = f" ({row.share_without_mfa:.0%})" if row.share_without_mfa is not None else ""
        never = ", ".join(row.accounts_never_mfa[:5]) + (" …" if len(row.accounts_never_mfa) > 5 else "")
        table.add_row(
            escape(row.org or "(unknown)"),
            escape(row.realm or row.tenant or "–"),
            f"{row.accounts:,}",
            f"{row.signins:,}",
            f"{row.without_mfa:,}{share}",
            f"{row.mfa_unknown:,}",
            f"{row.legacy_protocol:,}",
            f"{row.from_other_network:,}",
            f"{row.failures:,}",
            escape(never),
        )
    out.print(table)
