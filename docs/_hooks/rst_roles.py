"""MkDocs hook: tidy the reStructuredText left in numpydoc docstrings as mkdocstrings renders them.

The docstrings use Sphinx roles (``:class:`~gapmap.reach.Reach```) and ``.. math::`` blocks,
which mkdocstrings prints as written. This hook, run on each page's HTML, drops the role
prefixes (keeping the name as code, shortened after ``~`` as Sphinx would) and the
``.. math::`` markers (the formula below stays as a code block). Nothing is fetched.
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:class|meth|func|mod|data|attr|obj|exc|ref):<code>(~?)([^<]*)</code>")
_MATH = re.compile(r"<p>\.\. math::</p>\s*")


def _name(match: re.Match[str]) -> str:
    tilde, target = match.group(1), match.group(2)
    return f"<code>{target.rsplit('.', 1)[-1] if tilde else target}</code>"


def on_page_content(html: str, **kwargs: object) -> str:
    """Return the page's HTML with Sphinx roles and ``.. math::`` markers tidied.

    Parameters
    ----------
    html
        The page's HTML as rendered from Markdown.
    **kwargs
        The page, config and files MkDocs passes to hooks (unused).
    """
    return _MATH.sub("", _ROLE.sub(_name, html))
