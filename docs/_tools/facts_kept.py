"""Check that moving text out of a README lost no fact: every number and `code` token kept.

Usage (from the repository root)::

    git show main:README.md > /tmp/old_readme.md
    python docs/_tools/facts_kept.py /tmp/old_readme.md

For each paragraph of the old README, every number (``1,170``, ``96.8%``, ``0.5``) and every
token written as code (a command, an option, a file, a column) must appear somewhere in the new
set: ``README.md``, ``CHANGELOG.md`` and ``docs/*.md`` (whitespace normalised). Prints what is
missing and exits 1 if anything is. The integrator can run it on a branch's README sections
after moving them into the docs pages.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def missing_facts(old: str, new: str) -> list[tuple[int, str, str]]:
    """The (paragraph, token, paragraph start) of each token of ``old`` not found in ``new``.

    Parameters
    ----------
    old
        The text the facts were moved from.
    new
        Everything they were moved to, joined.
    """
    new_n = _norm(new)
    out = []
    for i, para in enumerate(p for p in re.split(r"\n\s*\n", old) if p.strip()):
        para_n = _norm(para)
        numbers = re.findall(r"(?<![\w.])\d[\d,.]*\d%?|(?<![\w.])\d%?", para_n)
        codes = re.findall(r"`([^`]+)`", para_n)
        tokens = sorted(set(numbers) | set(codes))
        out += [(i, tok, para_n[:70]) for tok in tokens if tok not in new_n]
    return out


def main(argv: list[str]) -> int:
    """Run the check on the old README named in ``argv``; 0 when nothing is missing.

    Parameters
    ----------
    argv
        One path: the old README.
    """
    old = Path(argv[0]).read_text(encoding="utf-8")
    pages = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
    new = "\n".join(p.read_text(encoding="utf-8") for p in pages if p.exists())
    missing = missing_facts(old, new)
    for para, token, start in missing:
        print(f"paragraph {para}: {token!r} missing (paragraph starts: {start})")
    print(f"{len(missing)} tokens missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
