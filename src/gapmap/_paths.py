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
