"""The ``gapmap`` command line: one module per group of commands.

:mod:`gapmap.cli.commands` parses the options and runs the analysis commands;
:mod:`gapmap.cli.store` the register database (``db``, ``staff``, ``refer``, ``absence``);
:mod:`gapmap.cli.cover` the cover plan and N−1 resilience; :mod:`gapmap.cli.directory` the
directory team's register.
"""

from gapmap.cli.commands import main

__all__ = ["main"]
