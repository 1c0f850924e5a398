"""The ``sekimori`` application and its command groups; each command module adds its commands to them."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="sekimori (関守): guards the trust boundaries between the companies of a group and its contractors.",
    no_args_is_help=True,
    add_completion=False,
)
model_app = typer.Typer(help="The group's trust model (YAML).", no_args_is_help=True)
app.add_typer(model_app, name="model")
