"""One error base class: a notebook or a service catches every error gapmap raises on purpose
with ``except gapmap.GapmapError``; each kind keeps its name and its older base."""

from __future__ import annotations

import pytest

import gapmap
from gapmap.errors import GapmapError, InputError, Problem
from gapmap.matching import MatchingError
from gapmap.publish.folder import OutputError
from gapmap.store.engine import StoreError
from gapmap.store.store import NoRoom


@pytest.mark.parametrize(
    "kind, older",
    [(InputError, ValueError), (MatchingError, RuntimeError), (OutputError, RuntimeError),
     (StoreError, InputError), (NoRoom, StoreError)],
)  # fmt: skip
def test_every_error_gapmap_raises_shares_one_base_and_keeps_its_own(kind, older):
    assert issubclass(kind, GapmapError) and issubclass(kind, older)
    assert gapmap.GapmapError is GapmapError


def test_a_wrong_register_is_caught_as_a_gapmap_error_with_every_problem(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(
        "person_id,postcode,hours,days,services\nP1,ME14 1XX,-4,Mon,social\n"
        "P2,ME14 1XX,4,Funday,social\n",
        encoding="utf-8",
    )
    with pytest.raises(GapmapError) as err:
        gapmap.read_people(path)
    assert isinstance(err.value, InputError)
    rows = sorted((p.row, p.column) for p in err.value.problems)
    assert rows == [(2, "hours"), (3, "days")]


def test_an_input_error_keeps_its_message_and_problems():
    e = InputError(Problem("f.csv", "must be a number", row=4, column="hours", value="x"))
    said = "1 problem found:\n  - f.csv, row 4, column 'hours': must be a number (found 'x')"
    assert str(e) == said
    assert e.problems[0].row == 4


def test_every_error_class_of_gapmap_derives_from_the_one_base():
    """Found, not listed: every exception class any gapmap module defines."""
    import importlib
    import inspect
    import pkgutil

    found = set()
    for info in pkgutil.walk_packages(gapmap.__path__, "gapmap."):
        if info.name == "gapmap.__main__":  # runs the command line
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Exception) and cls.__module__.startswith("gapmap."):
                found.add(cls)
    assert {InputError, MatchingError, OutputError, StoreError, NoRoom} <= found
    assert [c.__qualname__ for c in found if not issubclass(c, GapmapError)] == []
