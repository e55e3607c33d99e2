"""The house's habits, checked: numpydoc on every public function, and the examples run."""

from __future__ import annotations

import argparse
import ast
import doctest
import importlib
import pkgutil
import re
import shlex
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
        gapmap.suggest,
        gapmap.datasets.demo_study,
        gapmap.Matching,
        gapmap.GapResult.explore,
    ):
        assert "Examples" in (fn.__doc__ or ""), fn


def test_no_docstring_example_is_skipped():
    """Every example runs (on :func:`gapmap.datasets.demo_study` where it needs data)."""
    skipped = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "+SKIP" in p.read_text()]
    assert skipped == []


def _modules():
    yield "gapmap"  # the package's own docstring: the tour of the API
    for info in pkgutil.walk_packages(gapmap.__path__, "gapmap."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            yield info.name


@pytest.mark.parametrize("name", sorted(_modules()))
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if name in ("gapmap", "gapmap.datasets", "gapmap.matching", "gapmap.study"):
        assert result.attempted >= 5  # the tour of the API runs, not only its imports


# --- The README and the documentation site (docs/, built by MkDocs) --------------------------

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
INSTALL_AND_DEMO = (
    "python3.11 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/gapmap demo"
)
RUN_TESTS = ".venv/bin/python -m pytest"


def _pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.S | re.M)


def test_the_readme_opens_with_the_two_commands_ci_runs():
    first = _code_blocks(README.read_text(encoding="utf-8"))[0].strip().splitlines()
    assert first == [INSTALL_AND_DEMO, RUN_TESTS]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install --quiet -e '.[test]'" in ci and ".venv/bin/python -m pytest" in ci
    assert "mkdocs build --strict" in ci


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_command_is_in_the_readme_table():
    from gapmap.cli.commands import build_parser

    table = [line for line in README.read_text(encoding="utf-8").splitlines() if line[:1] == "|"]
    commands = _subcommands(build_parser())
    expected = {"demo", "gaps", "db", "staff", "refer", "absence", "cover", "resilience", "serve"}
    assert expected <= set(commands)
    missing = [n for n in commands if not any(f"`gapmap {n}" in line for line in table)]
    assert not missing, f"commands missing from the README's table: {missing}"


def _command_lines(text: str):
    """Each `gapmap ...` command of a page's code blocks, continuation lines joined."""
    for block in _code_blocks(text):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split("  #")[0].strip()
            m = re.match(r"^(?:\.venv/bin/)?gapmap (.*)$", line)
            if m and "..." not in line:
                yield line, shlex.split(m.group(1).replace("$D", "../shared/data"))


def test_every_command_shown_in_the_docs_parses():
    """Each example command line of the README and the docs is accepted by the real parser."""
    from gapmap.cli.commands import build_parser

    parser, seen, bad = build_parser(), 0, []
    for page in _pages():
        for line, argv in _command_lines(page.read_text(encoding="utf-8")):
            seen += 1
            try:
                parser.parse_args(argv)
            except (gapmap.InputError, SystemExit) as e:
                bad.append(f"{page.name}: {line}: {e}")
    assert seen >= 25, seen
    assert not bad, "\n".join(bad)


def test_the_readme_links_and_pictures_resolve_and_every_page_is_in_the_site():
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if not t.startswith(("http://", "https://"))]
    assert "docs/gap_map.png" in local
    assert not [t for t in local if not (ROOT / t).exists()], local
    site = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    unlisted = [p.name for p in DOCS.glob("*.md") if p.name not in site]
    assert not unlisted, f"docs pages not in mkdocs.yml's nav: {unlisted}"
    for page in DOCS.glob("*.md"):
        for picture in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text(encoding="utf-8")):
            assert (DOCS / picture).exists(), (page.name, picture)


def test_the_site_builds_strictly_offline(tmp_path):
    """`mkdocs build --strict`: every link, anchor and docstring reference resolves."""
    pytest.importorskip("mkdocs", reason="mkdocs is in the 'test' and 'docs' extras")
    pytest.importorskip("mkdocstrings", reason="mkdocstrings is in the 'test' and 'docs' extras")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = load_config(str(ROOT / "mkdocs.yml"), site_dir=str(tmp_path / "site"), strict=True)
    build(config)
    reference = (tmp_path / "site" / "reference" / "index.html").read_text(encoding="utf-8")
    assert 'id="gapmap.Study.read"' in reference and 'id="gapmap.reach.road_km"' in reference
    html = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "site").rglob("*.html"))
    assert not re.search(r'(?:src|href)="https?://[^"]+\.(?:js|css)"', html), "a CDN asset"
