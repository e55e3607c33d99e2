"""Fixtures for the register-database tests: a throw-away PostgreSQL cluster and a database
address per test, on SQLite and on PostgreSQL alike.

The PostgreSQL server is Debian's (``/usr/lib/postgresql/*/bin``, installed by ``.ci/run``):
``initdb`` makes a cluster in a temporary folder, ``pg_ctl`` starts it on 127.0.0.1 and a free
port with trust authentication, and the session ends by stopping and deleting it. PostgreSQL
refuses to run as root, so under root the cluster belongs to ``nobody`` and runs through
``runuser``. Without the binaries the PostgreSQL half of each test skips, saying why.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from .helpers import free_port as _free_port

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="session")
def pg_server():
    """The address of a throw-away PostgreSQL server (``postgresql://postgres@127.0.0.1:P``)."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip(
            "PostgreSQL binaries not found (/usr/lib/postgresql/*/bin/initdb): "
            "apt-get install postgresql to run the PostgreSQL half of the register tests"
        )
    root = Path(tempfile.mkdtemp(prefix="gapmap-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL will not run as root
        shutil.chown(root, user="nobody", group="nogroup")
        prefix = ["runuser", "-u", "nobody", "--"]
    data, port = root / "data", _free_port()
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], cwd=root, env=env, check=True, capture_output=True,
                       timeout=120)  # fmt: skip

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
        opts = (f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=300")  # fmt: skip
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60",
            "-o", opts, "start")  # fmt: skip
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr.decode()[-2000:]} {log[-2000:]}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], cwd=root, env=env, capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


_numbers = itertools.count(1)


def new_pg_database(server: str) -> str:
    """A new empty database on the server; its address."""
    import psycopg

    name = f"gapmap_test_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A register database address that does not exist yet (SQLite file or new PostgreSQL
    database), once for each kind."""
    if request.param == "sqlite":
        return str(tmp_path / "register.db")
    server = request.getfixturevalue("pg_server")
    return new_pg_database(server)


@pytest.fixture(scope="session")
def small_registers(tmp_path_factory):
    """Demo registers cut to a size that keeps the tests fast: 80 providers, 300 people
    (from data/demo, real Kent postcodes)."""
    import pandas as pd

    folder = tmp_path_factory.mktemp("registers")
    prov = pd.read_csv(
        DEMO / "providers.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False
    )
    people = pd.read_csv(
        DEMO / "people.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False
    )
    prov.head(80).to_csv(folder / "providers.csv", index=False)
    people.head(300).to_csv(folder / "people.csv", index=False)
    return folder / "providers.csv", folder / "people.csv"


# --- registers and the web app shared by the register-database tests ---------------------------
#: Four providers: three at one Dover postcode, one far off in Ashford (the store tests).
TINY_PROVIDERS = """provider_id,name,postcode,services,days,capacity_hours,committed_hours,\
max_travel_km,cover,cqc_registered
A,Alpha Care,CT14 8AT,domestic;social;community,all,10,4,10,True,False
B,Beta Help,CT14 8AT,domestic;social;community,all,20,0,10,True,False
C,Gamma Mondays,CT14 8AT,domestic;social,Mon;Tue,20,0,10,True,False
D,Delta Far,TN23 1AA,domestic;social,all,20,0,3,True,False
"""
PEOPLE_HEAD = "person_id,postcode,hours,days,services,needs_cover\n"
#: The same four providers as the web page sees them (more capacity; a name with markup).
WEB_PROVIDERS = """provider_id,name,postcode,services,days,capacity_hours,committed_hours,\
max_travel_km,cover,cqc_registered
A,Alpha <b>Care</b>,CT14 8AT,domestic;social;community,all,30,4,10,True,False
B,Beta Help,CT14 8AT,domestic;social;community,all,20,0,10,True,False
C,Gamma Mondays,CT14 8AT,domestic;social,Mon;Tue,20,0,10,True,False
D,Delta Far,TN23 1AA,domestic;social,all,20,0,3,True,False
"""


def tiny_registers(tmp_path: Path, n_people: int = 12) -> tuple[Path, Path]:
    """``providers.csv`` (:data:`TINY_PROVIDERS`) and ``people.csv`` of ``n_people`` at one
    Dover postcode, written in ``tmp_path``."""
    prov = tmp_path / "providers.csv"
    prov.write_text(TINY_PROVIDERS)
    people = tmp_path / "people.csv"
    rows = "".join(f"P{i:02d},CT14 8AT,6,Mon;Wed,social,True\n" for i in range(1, n_people + 1))
    people.write_text(PEOPLE_HEAD + rows)
    return prov, people


def web_app(store):
    """The web app over a register database (its register loaded)."""
    from gapmap.serve.app import create_app
    from gapmap.serve.register import DbRegister

    reg = DbRegister(Path("register.db"), store=store)
    reg.load()
    return create_app(reg)


def bearer(token: str) -> dict:
    """The header of a member of staff's token."""
    return {"Authorization": f"Bearer {token}"}
