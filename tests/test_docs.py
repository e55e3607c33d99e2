"""The house's habits, checked: numpydoc on every public function, and the examples run."""

from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import gapmap

SRC = Path(gapmap.__file__).parent


def _public_definitions():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if any(part.startswith("_") and part != "__init__.py" for part in rel.parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.ClassDef) or node.name.startswith("_"):
                continue
            yield rel, node
            if isinstance(node, ast.ClassDef):
                for sub in node.body:
                    if isinstance(sub, ast.FunctionDef) and not sub.name.startswith("_"):
                        yield rel, sub


def _n_params(fn: ast.FunctionDef) -> int:
    names = [a.arg for a in fn.args.args + fn.args.kwonlyargs]
    return len([n for n in names if n not in ("self", "cls")])


def test_every_public_definition_has_a_numpydoc_docstring():
    missing, no_params = [], []
    for rel, node in _public_definitions():
        doc = ast.get_docstring(node)
        if not doc:
            missing.append(f"{rel}:{node.lineno} {node.name}")
        elif isinstance(node, ast.FunctionDef) and _n_params(node) > 1 and "Parameters" not in doc:
            no_params.append(f"{rel}:{node.lineno} {node.name}")
    assert not missing, "no docstring: " + ", ".join(missing)
    assert not no_params, "no Parameters section: " + ", ".join(no_params)


def test_the_main_functions_show_an_example():
    for fn in (
        gapmap.Study.read,
        gapmap.Study.from_frames,
        gapmap.Settings,
        gapmap.gap_analysis,
        gapmap.match,
        gapmap.recruit,
        gapmap.Suggester,
    ):
        assert "Examples" in (fn.__doc__ or ""), fn


def _modules():
    for info in pkgutil.walk_packages(gapmap.__path__, "gapmap."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            yield info.name


@pytest.mark.parametrize("name", sorted(_modules()))
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
