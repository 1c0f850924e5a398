"""``python -m sekimori.cli``: the command line."""

from sekimori.cli import main

main()
