"""The ``sekimori`` command's entry point, kept apart from the command line's package on purpose: the
ingest's worker processes are spawned, and a spawned process imports the module that started it; from
here they import nothing of the commands (a second or more per worker otherwise)."""

from __future__ import annotations


def main() -> None:
    from sekimori.cli import main as run

    run()
