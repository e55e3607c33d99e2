"""The ``gapmap`` command line: one module per group of commands.

:mod:`gapmap.cli.commands` holds the parser and :func:`main`; :mod:`gapmap.cli.gaps` (gaps,
report, recruit), :mod:`gapmap.cli.match` (match, suggest, serve), :mod:`gapmap.cli.demo` (demo,
make-demo) and :mod:`gapmap.cli.check` (compare, check, build-geography) the analysis commands,
sharing :mod:`gapmap.cli.common`; :mod:`gapmap.cli.store` the register database (``db``,
``staff``, ``refer``, ``absence``), with ``--db`` for the other commands in
:mod:`gapmap.cli.db_options`;
:mod:`gapmap.cli.cover` the cover plan and N−1 resilience; :mod:`gapmap.cli.directory` the
directory team's register.
"""

from gapmap.cli.commands import main

__all__ = ["main"]
