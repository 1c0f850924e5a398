"""``python -m sekimori.model schema [PATH]`` regenerates the JSON Schema;
``python -m sekimori.model check FILE…`` validates model files and lists their problems."""

from __future__ import annotations

import argparse
import sys

from sekimori.model.errors import ModelError
from sekimori.model.loader import load_model
from sekimori.model.schema_export import SCHEMA_PATH, write_json_schema


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sekimori.model")
    commands = parser.add_subparsers(dest="command", required=True)
    schema = commands.add_parser("schema", help="write the JSON Schema of model files")
    schema.add_argument("path", nargs="?", default=str(SCHEMA_PATH))
    check = commands.add_parser("check", help="validate model files")
    check.add_argument("files", nargs="+")
    args = parser.parse_args(argv)

    if args.command == "schema":
        print(write_json_schema(args.path))
        return 0
    failed = False
    for file in args.files:
        try:
            model = load_model(file)
        except ModelError as exc:
            print(exc, file=sys.stderr)
            failed = True
        else:
            print(f"{file}: ok ({model.group}: {len(model.organisations)} organisations)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
