"""Load test of `gapmap serve` on loopback at Somerset scale (1,170 providers).

Starts the real command in its own process, then 20 simulated staff (threads, one keep-alive
connection each) post suggestion requests at real Kent postcodes, with varied hours, days and
services, for a bounded time and number of requests. Prints requests per second, the median
and 95th-percentile latency and any non-200 answers. The baseline, in the same run, is the
same requests answered in-process (request checks + Suggester, no HTTP), one at a time. The
load runs twice: as it is, and with one more client sending 20 MB request bodies back to back
(each refused with 413): the staff's p95 of the two runs is printed side by side.

Run:  .venv/bin/python benchmarks/bench_serve.py [--users 20] [--seconds 20] [--max-requests 20000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def requests_for(n: int, seed: int = 7) -> list[dict]:
    from gapmap._kent import KENT_DISTRICTS
    from gapmap.postcodes import default_directory

    pcs = default_directory().postcodes_in_districts(KENT_DISTRICTS, "BCDMT")["postcode"]
    rng = random.Random(seed)
    days = ["Mon", "Mon;Thu", "weekdays", "Sat;Sun", "Tue;Wed;Fri", "all"]
    services = ["domestic", "social", "domestic;social", "community", "social;community"]
    return [
        {
            "postcode": rng.choice(pcs),
            "hours": rng.choice([1, 2, 3, 4, 6, 8, 10]),
            "days": rng.choice(days),
            "services": rng.choice(services),
            "self_directing": True,
            "regulated_care": False,
        }
        for _ in range(n)
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--max-requests", type=int, default=20_000)
    args = ap.parse_args()

    from gapmap.demo import SCALES, write_demo_registers
    from gapmap.matching.person import request_from_fields
    from gapmap.matching.suggest import Suggester
    from gapmap.study import Study, StudyInputs

    size = SCALES["somerset"]
    reqs = requests_for(2000)
    with tempfile.TemporaryDirectory() as tmp:
        prov, _ = write_demo_registers(tmp, providers=size.providers, people=10)
        # baseline: in-process, no HTTP
        study = Study.read(StudyInputs(providers=prov))
        suggester = Suggester(study)
        times = []
        for r in reqs[:500]:
            t = time.perf_counter()
            person, _ = request_from_fields(study, **r)
            suggester.suggest(person, top=5)
            times.append(time.perf_counter() - t)
        base = np.array(times) * 1000
        print(
            f"baseline in-process, 1 at a time: {len(base)} requests, median "
            f"{np.median(base):.2f} ms, p95 {np.percentile(base, 95):.2f} ms, "
            f"{1000 / base.mean():,.0f} requests/s"
        )

        port = free_port()
        gapmap = Path(sys.executable).with_name("gapmap")
        proc = subprocess.Popen(
            [str(gapmap), "serve", "--providers", str(prov), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.time() + 60
            while time.time() < deadline:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    c.request("GET", "/api/register")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.2)
            else:
                raise SystemExit("the server did not start in 60 s")

            runs = {}
            for label, attack in (("no attacker", False), ("a 20 MB attacker", True)):
                runs[label] = load(port, reqs, args, attack)
        finally:
            proc.terminate()
            proc.wait(10)
    for label, (lat, wall, statuses, big) in runs.items():
        print(
            f"gapmap serve, {args.users} concurrent users, {label}, {wall:.1f} s: "
            f"{len(lat):,} requests, {len(lat) / wall:,.0f} requests/s, median "
            f"{np.median(lat):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms, max {lat.max():.0f} ms;"
            f" answers {statuses}" + (f"; 20 MB requests refused: {big}" if big else "")
        )
    calm, attacked = runs["no attacker"][0], runs["a 20 MB attacker"][0]
    print(
        f"ratio: served p95 / in-process p95 = "
        f"{np.percentile(calm, 95) / np.percentile(base, 95):.1f}; "
        f"p95 with the 20 MB attacker / without = "
        f"{np.percentile(attacked, 95) / np.percentile(calm, 95):.2f}"
    )
    return 0


def load(port: int, reqs: list[dict], args, attack: bool):
    """``args.users`` staff posting suggestions for ``args.seconds``; with ``attack``, one more
    client sends 20 MB bodies back to back. Returns the staff's latencies (ms), the wall time,
    the answers' statuses and how many 20 MB requests were answered (413)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.perf_counter() + args.seconds
    budget = [args.max_requests]
    refused = [0]
    big = b"{" + b" " * (20 * 1024 * 1024) + b"}"

    def user(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = k
        while time.perf_counter() < stop:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            body = json.dumps(reqs[i % len(reqs)])
            i += args.users
            t = time.perf_counter()
            conn.request("POST", "/api/suggest", body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            dt = time.perf_counter() - t
            with lock:
                latencies.append(dt)
                statuses[resp.status] = statuses.get(resp.status, 0) + 1

    def attacker() -> None:
        while time.perf_counter() < stop:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", "/api/suggest", big, {"Content-Type": "application/json"})
                if conn.getresponse().status == 413:
                    refused[0] += 1
                conn.close()
            except OSError:  # the server may close the connection before the body is sent
                refused[0] += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=user, args=(k,)) for k in range(args.users)]
    if attack:
        threads.append(threading.Thread(target=attacker))
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    return np.array(latencies) * 1000, wall, statuses, refused[0]


if __name__ == "__main__":
    sys.exit(main())
