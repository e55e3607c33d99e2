"""The largest register gapmap accepts, and one past it: time and peak memory to read each.

Writes a people register of exactly ``MAX_ROWS`` records at real Kent postcodes, as CSV and as
XLSX, reads each with ``read_people`` in a fresh process (time and peak RSS), then the same
with one row more (refused while reading, before it costs the memory of the whole file), and a
CSV with one cell past ``MAX_CELL_CHARS``. The baseline is a process that imports gapmap and
loads the geocoder, nothing else.

    .venv/bin/python benchmarks/bench_limits.py [--rows N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from gapmap.postcodes import default_directory
default_directory().lookup(["BR1 1AA", "CT1 2AA", "DA1 1AA", "ME1 1AA", "TN1 1AA"])
path = sys.argv[1]
t = time.perf_counter()
status, rows = "read", 0
if path:
    from gapmap.errors import InputError
    from gapmap.io.registers import read_people
    try:
        rows = len(read_people(path))
    except InputError as exc:
        status = "refused: " + exc.problems[0].message[:60]
seconds = time.perf_counter() - t
print(json.dumps({"status": status, "rows": rows, "seconds": seconds,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _measure(path: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, path], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    from gapmap.demo import make_demo_registers
    from gapmap.io._tables import MAX_CELL_CHARS, MAX_ROWS

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=MAX_ROWS, help="records in the largest file")
    args = ap.parse_args()
    _, people = make_demo_registers(providers=10, people=args.rows + 1, seed=7)
    base = _measure("")
    print(f"baseline (import gapmap, load the geocoder): peak {base['peak_mb']:.0f} MB")
    print(f"{'file':<34}{'MB':>7}{'rows':>9}{'seconds':>9}{'MB over base':>14}  result")
    with tempfile.TemporaryDirectory() as tmp:
        cases = []
        for n, label in ((args.rows, "largest accepted"), (args.rows + 1, "one row too many")):
            csv_path = Path(tmp) / f"people_{n}.csv"
            people.head(n).to_csv(csv_path, index=False)
            cases.append((f"CSV, {label}", csv_path))
            xlsx_path = Path(tmp) / f"people_{n}.xlsx"
            _write_xlsx(people.head(n), xlsx_path)
            cases.append((f"XLSX, {label}", xlsx_path))
        long = people.head(1000).copy()
        long.loc[long.index[500], "services"] = "x" * (MAX_CELL_CHARS + 1)
        long_path = Path(tmp) / "people_long_cell.csv"
        long.to_csv(long_path, index=False)
        cases.append(("CSV, one cell too long", long_path))
        for label, path in cases:
            r = _measure(str(path))
            print(
                f"{label:<34}{path.stat().st_size / 2**20:>7.1f}{r['rows']:>9,}"
                f"{r['seconds']:>9.2f}{r['peak_mb'] - base['peak_mb']:>14.0f}  {r['status']}",
                flush=True,
            )
    return 0


def _write_xlsx(frame, path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("people")
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append(["" if v != v else v for v in row])
    book.save(path)


if __name__ == "__main__":
    sys.exit(main())
