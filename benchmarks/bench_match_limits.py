"""Honest limits of ``gapmap match``: wall time against the time limit, and peak memory, by size.

Runs the real command (``gapmap match --time-limit T``) in a child process for waiting lists
of growing size against Somerset's 1,170 providers (synthetic registers at real Kent
postcodes), and prints for each: people, eligible pairs, the wall-clock time of the whole
command (reading, candidates, model, solving, checking and writing) beside the limit, and the
child's peak resident memory, with memory per eligible pair (it should stay about flat if
memory grows with the pairs). The baseline in the same run is the same command with
``--time-limit 1`` on the smallest list: the fixed cost of starting, reading and writing.

Run:  .venv/bin/python benchmarks/bench_match_limits.py [--people 5903,20000,50000,100000]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak resident memory (GB) and output of one child command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)  # reap it ourselves: its own resource usage
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out}")
    return wall, usage.ru_maxrss / 1e6, out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", default="5903,20000,50000,100000")
    ap.add_argument("--providers", type=int, default=1170)
    ap.add_argument("--time-limit", type=float, default=20.0)
    args = ap.parse_args()

    from gapmap.demo import write_demo_registers

    gapmap = str(Path(sys.executable).with_name("gapmap"))
    sizes = [int(n) for n in args.people.split(",")]
    print(f"{'people':>8} {'providers':>9} {'pairs':>11} {'limit s':>8} {'wall s':>7} "
          f"{'over s':>7} {'peak GB':>8} {'bytes/pair':>10}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for i, n in enumerate(sizes):
            folder = Path(tmp) / str(n)
            prov, people = write_demo_registers(folder, providers=args.providers, people=n)
            limits = [1.0, args.time_limit] if i == 0 else [args.time_limit]
            for limit in limits:
                out_dir = folder / f"out{limit:g}"
                wall, peak, text = run([
                    gapmap, "match", "--providers", str(prov), "--people", str(people),
                    "--out", str(out_dir), "--time-limit", f"{limit:g}",
                ])  # fmt: skip
                m = re.search(r"who can reach whom: ([\d,]+) eligible", text)
                pairs = int(m.group(1).replace(",", "")) if m else 0
                per = peak * 1e9 / pairs if pairs else float("nan")
                print(f"{n:>8,} {args.providers:>9,} {pairs:>11,} {limit:>8g} {wall:>7.1f} "
                      f"{wall - limit:>7.1f} {peak:>8.2f} {per:>10,.0f}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
