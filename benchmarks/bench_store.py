"""Benchmark: the register database under a busy team (issue 32).

Prints, for SQLite and for PostgreSQL (a throw-away cluster from Debian's binaries, started
here as in tests/store_fixtures.py, or ``--pg URL``):

1. referral latency through the web API of a real ``gapmap serve --db`` process, with 50 staff
   (each signed in with their own token) at once: p50 and p95 of ``POST /api/referrals``,
   (a) all 50 sending back to back with no pause (the worst burst: every referral waits for
   the others' transactions and for the one Python process) and (b) a busy team: each member
   starts at a random moment in the first 10 s and pauses a random 5-15 s between people
   (about 5 referrals and 5 suggestions a second in all: 18,000 referrals an hour);
2. a suggestion from the database (``serve --db``: the version counters read before each) vs from
   the file (``serve --providers``), the same requests asked alternately in the same run,
   before any referral (so both have the same free hours): medians and ratio, through the
   web app (each with its sign-in check) and of the suggestion itself;
3. ``gapmap match --db`` vs ``gapmap match`` on files at Kent year-3 scale (416 providers,
   2,500 people, the demo registers' fixed seed), the same ``--time-limit``: wall time and
   people matched, as ratios.

Each line ends with the machine's load average (``/proc/loadavg``): on a shared machine the
figures move with it.

Run:  .venv/bin/python benchmarks/bench_store.py [--time-limit 20] [--per-staff 6]
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}
STAFF = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres():
    """A throw-away PostgreSQL cluster (as nobody when root); its address."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise SystemExit("PostgreSQL binaries not found (apt-get install postgresql)")
    bindir = Path(found[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="gapmap-bench-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, user="nobody", group="nogroup")
        prefix = ["runuser", "-u", "nobody", "--"]
    data, port = root / "data", _free_port()
    run = {"cwd": root, "env": {**os.environ, "LC_ALL": "C"}, "check": True,
           "capture_output": True}  # fmt: skip
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8", "--locale=C"], **run)  # fmt: skip
    opts = f"-h 127.0.0.1 -p {port} -k {root} -c max_connections=300"
    subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"),
                    "-w", "-o", opts, "start"], **run)  # fmt: skip
    try:
        import psycopg

        server = f"postgresql://postgres@127.0.0.1:{port}"
        with psycopg.connect(server + "/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE gapmap_bench")
        yield server + "/gapmap_bench"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast",
                        "stop"], cwd=root, capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def serving(db: str):
    """``gapmap serve --db`` in its own process; its address."""
    port = _free_port()
    # the server's messages go to a file: a pipe nobody reads fills up and stops the server
    log = tempfile.NamedTemporaryFile(prefix="gapmap-serve-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gapmap", "serve", "--db", db, "--port", str(port)],
        env=ENV, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    try:
        for _ in range(600):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None:
                raise SystemExit("serve stopped: " + Path(log.name).read_text()[-2000:])
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        said = Path(log.name).read_text()
        log.close()
        os.unlink(log.name)
        if said.strip():
            print(
                f"  (serve said {len(said.splitlines())} lines on stderr; the last: "
                f"{said.strip().splitlines()[-1][:200]})",
                file=sys.stderr,
            )


def _ask(person: dict) -> dict:
    return {
        "postcode": person["postcode"], "hours": float(person["hours"]), "days": person["days"],
        "services": person["services"], "needs_cover": person["needs_cover"] == "True",
        "max_travel_km": person["max_travel_km"] or None,
        "self_directing": True, "regulated_care": False,
    }  # fmt: skip


def referral_latency(url: str, tokens: list[str], people: list[dict], per_staff: int,
                     pause_s: float) -> dict:  # fmt: skip
    """50 staff at once: each suggests for its next person and refers them to the first
    suggestion; the referral's round trip is timed."""
    import httpx

    times: list[float] = []
    codes: dict[int, int] = {}
    problems: list[str] = []

    async def member(client, token, mine):
        h = {"Authorization": f"Bearer {token}"}
        if pause_s:
            await asyncio.sleep(random.uniform(0, 10))
        for person in mine:
            ask = _ask(person)
            r = await client.post("/api/suggest", json={**ask, "top": 1}, headers=h)
            if r.status_code != 200 or not r.json()["suggestions"]:
                continue
            s = r.json()["suggestions"][0]
            body = {**ask, "person_id": person["person_id"], "provider_id": s["provider_id"],
                    "partner_id": s["partner_id"], "cover_id": s["cover_id"]}  # fmt: skip
            t = time.perf_counter()
            r = await client.post("/api/referrals", json=body, headers=h)
            times.append(time.perf_counter() - t)
            codes[r.status_code] = codes.get(r.status_code, 0) + 1
            if r.status_code == 422:
                problems.append(r.json()["problems"][0]["message"])
            if pause_s:
                await asyncio.sleep(random.uniform(pause_s - 5, pause_s + 5))

    async def main():
        # idle connections are dropped before uvicorn's keep-alive timeout (5 s) closes them,
        # or a request sent just as the server closes one fails (httpx.ReadError)
        limits = httpx.Limits(max_connections=len(tokens), keepalive_expiry=2.0)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=300) as client:
            await asyncio.gather(*(
                member(client, tok, people[i * per_staff:(i + 1) * per_staff])
                for i, tok in enumerate(tokens)
            ))  # fmt: skip

    asyncio.run(main())
    ms = np.array(times) * 1000
    return {"n": len(ms), "p50": float(np.percentile(ms, 50)),
            "p95": float(np.percentile(ms, 95)), "p99": float(np.percentile(ms, 99)),
            "codes": codes, "problems": sorted(set(problems))[:3]}  # fmt: skip


def suggestion_ratio(providers: Path, db: str, people: list[dict]) -> tuple[float, float, float]:
    """Median ms of the same suggestion requests from the file and from the database, asked
    alternately (in-process, through the web app)."""
    from fastapi.testclient import TestClient

    from gapmap.serve.app import Register, create_app
    from gapmap.serve.register import DbRegister
    from gapmap.store import open_store

    store = open_store(db)
    token = store.add_staff("bench suggestions")
    # both signed in by a token, so that only where the providers come from differs
    apps = {"file": create_app(Register(providers), token=token),
            "db": create_app(DbRegister(Path("db"), store=store))}  # fmt: skip
    clients = {k: TestClient(app, base_url="http://127.0.0.1") for k, app in apps.items()}
    h = {"Authorization": f"Bearer {token}"}
    ms: dict[str, list[float]] = {"file": [], "db": []}
    for i, p in enumerate(people):
        for name in ("file", "db") if i % 2 else ("db", "file"):  # alternately, same moment
            t = time.perf_counter()
            r = clients[name].post("/api/suggest", json=_ask(p), headers=h)
            if i >= 20:  # the first are warming up
                ms[name].append((time.perf_counter() - t) * 1000)
            assert r.status_code in (200, 422), r.text
    # the suggestion itself (the register in service, the request checked, the ranking),
    # without HTTP and sign-in: the database's part is the version check before it
    from gapmap.matching.person import request_from_fields

    inner: dict[str, list[float]] = {"file": [], "db": []}
    regs = {"file": Register(providers), "db": DbRegister(Path("db"), store=store)}
    for r in regs.values():
        r.load()
    for i, p in enumerate(people):
        for name in ("file", "db") if i % 2 else ("db", "file"):
            t = time.perf_counter()
            study, suggester, _ = regs[name].in_service()
            a = _ask(p)
            try:
                person, _ = request_from_fields(
                    study, postcode=a["postcode"], hours=a["hours"], days=a["days"],
                    services=a["services"], max_travel_km=a["max_travel_km"],
                    needs_cover=a["needs_cover"], self_directing=True, regulated_care=False,
                )  # fmt: skip
                suggester.suggest(person, top=5)
            except Exception:  # noqa: BLE001 - a person outside the areas: timed all the same
                pass
            if i >= 20:
                inner[name].append((time.perf_counter() - t) * 1000)
    store.close()
    f, d = float(np.median(ms["file"])), float(np.median(ms["db"]))
    fi, di = float(np.median(inner["file"])), float(np.median(inner["db"]))
    return f, d, d / f, fi, di, di / fi


def run_match(args: list[str], out: Path) -> tuple[float, int]:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gapmap", "match", *args, "--out", str(out)],
                   env=ENV, check=True, capture_output=True)  # fmt: skip
    seconds = time.perf_counter() - t
    import pandas as pd

    m = pd.read_csv(out / "matches.csv", dtype=str, keep_default_na=False)
    return seconds, int((m["status"] == "matched").sum())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--per-staff", type=int, default=6)
    ap.add_argument("--pg", help="a PostgreSQL database to use (default: a throw-away cluster)")
    ap.add_argument("--skip-match", action="store_true")
    ap.add_argument("--skip-referrals", action="store_true")
    ap.add_argument("--only", choices=["SQLite", "PostgreSQL"], help="one kind of database")
    args = ap.parse_args()

    import pandas as pd

    from gapmap.demo import write_demo_registers
    from gapmap.store import open_store

    tmp = Path(tempfile.mkdtemp(prefix="gapmap-bench-store-"))
    prov, ppl = write_demo_registers(tmp, providers=416, people=2500)
    people = pd.read_csv(ppl, dtype=str, keep_default_na=False).to_dict("records")
    random.seed(7)
    random.shuffle(people)

    with postgres() if args.pg is None else _given(args.pg) as pg:
        for kind, db in (("SQLite", str(tmp / "register.db")), ("PostgreSQL", pg)):
            if args.only and kind != args.only:
                continue
            store = open_store(db, create=True)
            store.import_registers(providers=prov, people=ppl, author="bench")
            tokens = [store.add_staff(f"staff {i:02d}") for i in range(STAFF)]
            store.close()
            # suggestions first, while the database holds what the file says (no referrals)
            f, d, ratio, fi, di, ri = suggestion_ratio(prov, db, people[-300:])
            print(f"{kind:<11} suggestion median through the app (each with its sign-in check): "
                  f"file {f:.1f} ms, database {d:.1f} ms (ratio {ratio:.2f}); the suggestion "
                  f"itself: file {fi:.2f} ms, database {di:.2f} ms (ratio {ri:.2f}; load "
                  f"{_load()})", flush=True)  # fmt: skip
            used = 0
            with serving(db) if not args.skip_referrals else _given("") as url:
                for label, pause in (("no pause", 0.0), ("pause 5-15 s", 10.0)):
                    if args.skip_referrals:
                        break
                    chunk = people[used : used + STAFF * args.per_staff]
                    used += len(chunk)
                    r = referral_latency(url, tokens, chunk, args.per_staff, pause)
                    print(f"{kind:<11} referral, {STAFF} staff at once, {label:<12}: "
                          f"{r['n']} referrals, p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms, "
                          f"p99 {r['p99']:.0f} ms (answers {r['codes']}; load {_load()})",
                          flush=True)  # fmt: skip
                    for message in r["problems"]:
                        print(f"    422: {message}")

    if not args.skip_match:
        db = tmp / "match.db"
        store = open_store(db, create=True)
        store.import_registers(providers=prov, people=ppl, author="bench")
        store.close()
        limit = ["--time-limit", str(args.time_limit)]
        s_file, n_file = run_match(["--providers", str(prov), "--people", str(ppl), *limit],
                                   tmp / "m-file")  # fmt: skip
        s_db, n_db = run_match(["--db", str(db), *limit], tmp / "m-db")
        print(
            f"match at Kent year-3 scale, --time-limit {args.time_limit:g}: files "
            f"{s_file:.1f} s ({n_file} matched), --db {s_db:.1f} s ({n_db} matched); "
            f"time ratio {s_db / s_file:.3f}, matched ratio {n_db / max(n_file, 1):.3f}"
        )
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _load() -> str:
    """The machine's load averages over 1, 5 and 15 minutes."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


@contextmanager
def _given(url: str):
    yield url


if __name__ == "__main__":
    sys.exit(main())
