"""The ``sekimori`` command line: a thin face over the stages (no logic of its own). One module per
command group adds its commands to the application; ``render`` holds what they print alike.

Output a person reads is a rich table; machine output (``--json``, ``--format json|csv``) is plain
JSON/CSV on stdout so scripts can rely on it.
"""

from __future__ import annotations

# Each command module adds its commands to the app on import; the order is the order of `--help`.
from sekimori.cli import store  # isort: skip
from sekimori.cli import demo, detect, model  # noqa: F401  # isort: skip
from sekimori.cli import serve  # noqa: F401  # isort: skip  (the web face)
from sekimori.cli.app import app
from sekimori.cli.govern import govern_app
from sekimori.cli.paths import paths_app
from sekimori.cli.posture import posture_app
from sekimori.cli.report import report_app
from sekimori.cli.respond import audit_app, case_app
from sekimori.cli.sigma import sigma_app

app.command("readers")(store.list_readers)
app.add_typer(paths_app, name="paths")
app.add_typer(case_app, name="case")
app.add_typer(audit_app, name="audit")
app.add_typer(report_app, name="report")
app.add_typer(posture_app, name="posture")
app.add_typer(sigma_app, name="sigma")
app.add_typer(govern_app, name="govern")

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover
    app()
