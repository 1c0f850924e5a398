"""Problems found in a model file, each pinned to a file, line and field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One problem in a model: where it is and what was expected."""

    file: str | None
    line: int | None  # from 1
    column: int | None  # from 1
    field: str  # path of the field, e.g. data_stores[2].personal_data[0].records; "" for the whole file
    message: str

    def __str__(self) -> str:
        where = self.file or "<model>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def sort_key(self) -> tuple[int, int, str]:
        return (self.line or 0, self.column or 0, self.field)


class ModelError(Exception):
    """A model file that cannot be used; ``issues`` lists every problem found."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues: list[Issue] = sorted(issues, key=Issue.sort_key)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)
