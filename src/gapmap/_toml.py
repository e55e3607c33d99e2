"""A settings file's values (TOML): their types in words, how a problem shows them, how they are
written. Used by :meth:`gapmap.settings.Settings.from_toml` and ``to_toml``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from gapmap.errors import Problem
from gapmap.publish.disclosure import Suppression

#: What a field of each type takes, in words.
KIND_WORDS = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text in quotes",
}


def key_problem(file: str, key: str, message: str, value: Any = None) -> Problem:
    """A problem of key ``key`` of settings file ``file``."""
    return Problem(file, f"key '{key}' {message}", value=None if value is None else shown(value))


def shown(value: Any) -> str:
    """A value of a settings file as a problem shows it: text in quotes, a table as TOML."""
    if isinstance(value, Suppression):
        return f"low = {value.low}, high = {value.high}, base = {value.base}"
    if isinstance(value, dict):
        return ", ".join(f"{k} = {shown(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def toml_value(value: Any) -> str:
    """A value as TOML writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    return repr(value)


def typed(value: Any, kind: type) -> Any:
    """``value`` (as TOML gave it) as a value of a field of type ``kind``, or None."""
    if kind is bool:
        return value if isinstance(value, bool) else None
    if isinstance(value, bool):  # TOML's true is not a number
        return None
    if kind is int:
        return value if isinstance(value, int) else None
    if kind is float:
        return float(value) if isinstance(value, int | float) else None
    if kind is str:
        return value if isinstance(value, str) else None
    return None


def suppression_from(
    value: Any, base: Suppression, file: str
) -> tuple[Suppression | None, list[Problem]]:
    """The ``[suppression]`` table of a settings file as a rule, or the problems."""
    if not isinstance(value, dict):
        return None, [
            key_problem(file, "suppression", "must be a table: [suppression] with low, high "
                         "and base", value)
        ]  # fmt: skip
    problems: list[Problem] = []
    parts: dict[str, int] = {}
    for key, part in value.items():
        column = f"suppression.{key}"
        if key not in ("low", "high", "base"):
            problems.append(key_problem(file, column, "is not a part of the rule (low, "
                                         "high, base)"))  # fmt: skip
        elif typed(part, int) is None:
            problems.append(key_problem(file, column, "must be a whole number", part))
        else:
            parts[key] = part
    if problems:
        return None, problems
    return replace(base, **parts), []
