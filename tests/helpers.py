"""Helpers shared by the test files (one place: a test file never imports another test file).

Registers to break (:data:`GOOD_PROVIDERS`, :data:`GOOD_PEOPLE`, :func:`edit`), files to write
(:func:`csv_text`, :func:`write_file`, :func:`earlier_outputs`), the command line
(:func:`run_cli`), a study of frames (:func:`box_study`), a hostile name (:data:`EVIL`), the
browser (:func:`chromium`), a map page's data (:func:`map_data`), a free port and dates.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"

#: A name no page may run: script and image tags.
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'

#: What :func:`earlier_outputs` writes in each file of an earlier run.
SENTINEL = "results of an earlier run\n"


# --- registers and files -----------------------------------------------------------------------
def _rows(text: str, n: int) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))[: n + 1]


def csv_text(rows: list[list[str]]) -> str:
    """Rows (header first) as CSV text."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


#: The demo's first 20 providers and 40 people, as rows (header first): registers to break.
GOOD_PROVIDERS = _rows((DEMO / "providers.csv").read_text(encoding="utf-8-sig"), 20)
GOOD_PEOPLE = _rows((DEMO / "people.csv").read_text(encoding="utf-8-sig"), 40)


def edit(rows, row: int, column: str, value: str) -> str:
    """Set one cell; ``row`` as a spreadsheet numbers it (header = 1). Returns CSV text."""
    rows = [list(r) for r in rows]
    rows[row - 1][rows[0].index(column)] = value
    return csv_text(rows)


def write_file(path: Path, content) -> Path:
    """Write text (UTF-8) or bytes to ``path``."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def write_registers(tmp_path: Path) -> tuple[Path, Path]:
    """The good registers written as ``providers.csv`` and ``people.csv`` in ``tmp_path``."""
    return (
        write_file(tmp_path / "providers.csv", csv_text(GOOD_PROVIDERS)),
        write_file(tmp_path / "people.csv", csv_text(GOOD_PEOPLE)),
    )


def earlier_outputs(tmp_path: Path) -> Path:
    """An output folder holding an earlier run's files (each :data:`SENTINEL`)."""
    out = tmp_path / "out"
    out.mkdir()
    for name in ("gaps.csv", "matches.csv", "recruit_map.html"):
        (out / name).write_text(SENTINEL)
    return out


# --- the command line and studies --------------------------------------------------------------
def run_cli(argv, capsys) -> tuple[int, str, str]:
    """``gapmap ARGV`` in-process: (exit code, stdout, stderr); never a traceback."""
    from gapmap.cli.commands import main

    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "unexpected error" not in out.err, out.err
    return rc, out.out, out.err


def box_study(people, providers, **settings):
    """A study of frames made in a test: one square area around every point, the given
    settings (field names of :class:`gapmap.Settings`)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    from gapmap.io.registers import PERSON_DEFAULTS
    from gapmap.settings import Settings
    from gapmap.study import Study

    xy = np.vstack([people[["x", "y"]].to_numpy(float), providers[["x", "y"]].to_numpy(float)])
    lo, hi = xy.min(axis=0) - 1000, xy.max(axis=0) + 1000
    areas = gpd.GeoDataFrame(
        {"area_code": ["BOX"], "area_name": ["Box"], "district_code": ["D"],
         "district_name": ["District"]},
        geometry=[shapely.box(lo[0], lo[1], hi[0], hi[1])],
        crs=27700,
    )  # fmt: skip
    people, providers = people.copy(), providers.copy()
    for reg in (people, providers):
        if "row" not in reg:
            reg["row"] = np.arange(2, len(reg) + 2)
    for col in ("priority", "needs_cover", "self_directing", "regulated_care"):
        if col not in people:
            people[col] = getattr(PERSON_DEFAULTS, col)
    if "person_id" not in people:
        people["person_id"] = [f"P{i}" for i in range(len(people))]
    return Study.from_frames(areas, providers, pd.DataFrame(people), settings=Settings(**settings))


#: Days people and providers of :func:`small_instance` work.
DAY_CHOICES = ["Mon-Fri", "Mon;Wed", "Sat;Sun", "all", "Tue;Thu;Sat", "Mon-Sat", "Sun", "Wed"]


def small_instance(seed: int, n_people: int = 12, n_providers: int = 6):
    """People and providers within a few km of each other, with tight free hours."""
    import numpy as np
    import pandas as pd

    from gapmap.vocab import parse_days, parse_services

    rng = np.random.default_rng(seed)
    people = pd.DataFrame(
        {
            "person_id": [f"P{i}" for i in range(n_people)],
            "x": 600_000 + rng.uniform(0, 6000, n_people),
            "y": 150_000 + rng.uniform(0, 6000, n_people),
            "hours": rng.choice([1.0, 2.0, 2.5, 4.0, 6.0], n_people),
            "day_mask": [parse_days(rng.choice(DAY_CHOICES[:5])) for _ in range(n_people)],
            "services": rng.choice(["domestic", "social", "domestic;social"], n_people),
            "max_travel_km": np.where(rng.random(n_people) < 0.2, 3.0, np.nan),
            "priority": rng.integers(1, 6, n_people),
            "needs_cover": rng.random(n_people) < 0.7,
            "self_directing": rng.random(n_people) < 0.9,
            "regulated_care": False,
        }
    )
    people["service_mask"] = [parse_services(s) for s in people["services"]]
    providers = pd.DataFrame(
        {
            "provider_id": [f"V{i}" for i in range(n_providers)],
            "name": [f"Provider {i}" for i in range(n_providers)],
            "x": 600_000 + rng.uniform(0, 6000, n_providers),
            "y": 150_000 + rng.uniform(0, 6000, n_providers),
            "services": rng.choice(
                ["domestic;social", "social", "domestic;social;community"], n_providers
            ),
            "day_mask": [parse_days(rng.choice(DAY_CHOICES)) for _ in range(n_providers)],
            "capacity_hours": rng.choice([6.0, 8.0, 10.0], n_providers),
            "committed_hours": rng.choice([0.0, 2.0, 4.0], n_providers),
            "max_travel_km": rng.choice([5.0, 8.0], n_providers),
            "cover": rng.random(n_providers) < 0.8,
            "cqc_registered": False,
        }
    )
    providers["service_mask"] = [parse_services(s) for s in providers["services"]]
    return people, providers


# --- browsers, pages, ports, dates -------------------------------------------------------------
def chromium() -> str:
    """Debian's chromium, or skip the test with the reason."""
    for path in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if path and Path(path).exists():
            return path
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)")


def map_data(path: Path) -> dict:
    """The data embedded in a map page (the JSON the page draws from)."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r"var data = (\{.*?\});\n", text)
    assert m, "no embedded data"
    return json.loads(m.group(1))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def days_from_today(n: int) -> str:
    """The ISO date ``n`` days from today (negative: ago)."""
    return (dt.date.today() + dt.timedelta(days=n)).isoformat()
