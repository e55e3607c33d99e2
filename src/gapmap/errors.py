"""Errors a user can act on: which file, which row, which column, what was expected.

Readers collect every problem they find and raise one :class:`InputError` at the end, so a
user fixes a file once rather than once per mistake. The command line turns an
``InputError`` into exit code 2 and a plain message, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["GapmapError", "InputError", "Problem", "ProblemList"]

#: How many problems a message lists before it says "and N more".
MAX_LISTED = 50


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file.

    ``row`` is the row as a spreadsheet shows it: the header is row 1, the first record row 2.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = ", ".join(where) + ": " + self.message
        if self.value is not None:
            shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
            text += f" (found {shown!r})"
        return text


class GapmapError(Exception):
    """The base of every error gapmap raises on purpose, so a notebook or a service can catch
    them all at once (``except gapmap.GapmapError``).

    Its kinds: :class:`InputError` (a file or option is wrong; the register database's
    ``StoreError`` is one), :class:`~gapmap.matching.MatchingError` (a matching broke a rule) and
    :class:`~gapmap.publish.folder.OutputError` (an output folder cannot be written). Each keeps
    its older base too (``ValueError`` or ``RuntimeError``).

    Examples
    --------
    >>> issubclass(InputError, GapmapError), issubclass(InputError, ValueError)
    (True, True)
    """


class InputError(GapmapError, ValueError):
    """A user's file or option is wrong. Carries every problem found."""

    def __init__(self, problems: list[Problem] | Problem | str, *, file: str = "input"):
        if isinstance(problems, str):
            problems = [Problem(file=file, message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self.describe())

    def describe(self) -> str:
        """Every problem as lines of text, the first 50 listed."""
        n = len(self.problems)
        head = "1 problem" if n == 1 else f"{n} problems"
        lines = [f"{head} found:"] + [f"  - {p}" for p in self.problems[:MAX_LISTED]]
        if n > MAX_LISTED:
            lines.append(f"  ... and {n - MAX_LISTED} more of the same kinds")
        return "\n".join(lines)


class ProblemList:
    """Collects problems for one file and raises them together."""

    def __init__(self, file: str | Path):
        self.file = str(file)
        self.problems: list[Problem] = []

    def add(
        self,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        """Note one problem of the file.

        Parameters
        ----------
        message
            What is wrong, in words.
        row, column, value
            Where (row as a spreadsheet shows it) and what was found.
        """
        shown = None if value is None else str(value)
        self.problems.append(Problem(self.file, message, row, column, shown))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

    def raise_if_any(self) -> None:
        """Raise every problem at once, in row order (file-level problems first)."""
        if self.problems:
            order = sorted(
                range(len(self.problems)),
                key=lambda i: (self.problems[i].row or 0, i),
            )
            raise InputError([self.problems[i] for i in order])
