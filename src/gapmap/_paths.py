"""Where gapmap keeps the files it builds: the source tree when there is one, else a cache."""

from __future__ import annotations

import os
from pathlib import Path


def repo_or_cache(folder: str, env: str) -> Path:
    """``$env`` if set; else ``folder`` at the top of the source tree (an editable install);
    else ``~/.cache/gapmap/folder`` (an installed wheel, where files are built on first use)."""
    given = os.environ.get(env)
    if given:
        return Path(given)
    repo = Path(__file__).resolve().parents[2] / folder
    if repo.is_dir():
        return repo
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gapmap" / folder


def user_cache(folder: str, env: str) -> Path:
    """Where gapmap keeps what it builds for a user (another council's geography, its demo
    registers): ``$env`` if set, else ``$XDG_CACHE_HOME/gapmap/folder`` or
    ``~/.cache/gapmap/folder``; never the installed package's own folder."""
    given = os.environ.get(env)
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gapmap" / folder
