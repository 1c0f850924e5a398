"""``python -m sekimori``: the command line."""

from sekimori.cli import main

main()
