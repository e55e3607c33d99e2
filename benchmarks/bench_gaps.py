"""Benchmark: gap analysis at Kent year-3 and Somerset scale, against baselines in the same run.

Prints, per scale:
  * reading the inputs (registers from CSV, areas from file): the baseline the whole is judged by;
  * coverage (reach by k-d tree + 2SFCA, all days and weekend);
  * the same 2SFCA done densely over an all-pairs people x providers matrix (checked equal);
  * the whole gap analysis, and the whole of `gapmap gaps` (reading to writing every output).

Run:  .venv/bin/python benchmarks/bench_gaps.py [--repeat 3] [--scales kent-y3,somerset,x4]
Areas are the real 2022 Kent wards from ../shared/data when present, else the built-in sectors.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WARDS = REPO.parent / "shared" / "data" / "kent_wards_2022.geojson"


def best_of(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times), out


def peak_mb(fn) -> float:
    """Peak memory (MB) that numpy and Python allocate while ``fn`` runs."""
    import tracemalloc

    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def dense_2sfca(people, providers, circuity=1.0):
    """Straightforward all-pairs 2SFCA with the same eligibility rules (the baseline)."""
    from gapmap.coverage import weekend_share

    px, py = people["x"].to_numpy(), people["y"].to_numpy()
    vx, vy = providers["x"].to_numpy(), providers["y"].to_numpy()
    d = np.hypot(px[:, None] - vx[None, :], py[:, None] - vy[None, :]) * circuity / 1000.0
    plim = people["max_travel_km"].to_numpy()
    ok = d <= providers["max_travel_km"].to_numpy()[None, :] + 1e-9
    ok &= np.isnan(plim)[:, None] | (d <= plim[:, None] + 1e-9)
    need = people["service_mask"].to_numpy()[:, None]
    ok &= (need & providers["service_mask"].to_numpy()[None, :]) == need
    ok &= (
        ~people["regulated_care"].to_numpy()[:, None]
        | providers["cqc_registered"].to_numpy()[None, :]
    )
    ok &= people["self_directing"].to_numpy()[:, None]
    m = ok.astype(float)
    out = []
    for dem, sup in (
        (people["hours"].to_numpy(), providers["capacity_hours"].to_numpy()),
        (
            people["hours"].to_numpy() * weekend_share(people["day_mask"].to_numpy()),
            providers["capacity_hours"].to_numpy()
            * weekend_share(providers["day_mask"].to_numpy()),
        ),
    ):
        denom = m.T @ dem
        r = np.divide(sup, denom, out=np.zeros_like(sup, dtype=float), where=denom > 0)
        out.append(m @ r)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scales", default="kent-y3,somerset")
    args = ap.parse_args()

    from gapmap.cli.commands import main as cli
    from gapmap.coverage import person_coverage
    from gapmap.demo import SCALES, write_demo_registers
    from gapmap.gaps import gap_analysis
    from gapmap.io.areas import read_areas
    from gapmap.io.builtin import builtin_path, load_builtin_areas
    from gapmap.io.registers import read_people, read_providers
    from gapmap.reach import eligible_pairs
    from gapmap.study import Study

    areas_path = WARDS if WARDS.exists() else builtin_path()
    print(f"areas: {areas_path}")
    print(
        f"{'scale':<10}{'people':>7}{'provs':>7}{'pairs':>11}{'read s':>8}{'cover s':>9}"
        f"{'dense s':>9}{'dense/cov':>10}{'gaps s':>8}{'cmd s':>7}{'cover/cmd':>10}{'cmd/read':>9}"
        f"{'cover MB':>9}{'dense MB':>9}"
    )
    for scale in args.scales.split(","):
        if scale.startswith("x"):  # x4: four times Somerset
            k = int(scale[1:])
            n_prov, n_people = SCALES["somerset"].providers * k, SCALES["somerset"].people * k
        else:
            n_prov, n_people = SCALES[scale].providers, SCALES[scale].people
        with tempfile.TemporaryDirectory() as tmp:
            p, q = write_demo_registers(tmp, providers=n_prov, people=n_people)

            def read_inputs():
                a = read_areas(areas_path) if areas_path == WARDS else load_builtin_areas()
                return a, read_providers(p), read_people(q)

            t_read, _, (areas, providers, people) = best_of(read_inputs, args.repeat)

            def coverage():
                reach = eligible_pairs(people, providers)
                return reach, person_coverage(reach, people, providers)

            t_cov, _, (reach, cov) = best_of(coverage, args.repeat)
            t_dense, _, (a_all, a_we) = best_of(lambda: dense_2sfca(people, providers), args.repeat)
            assert np.allclose(a_all, cov.access) and np.allclose(a_we, cov.weekend_access), (
                "dense and sparse 2SFCA disagree"
            )

            def gaps():
                return gap_analysis(Study.from_frames(areas, providers, people))

            t_gaps, _, _ = best_of(gaps, args.repeat)
            out = Path(tmp) / "out"
            argv = ["gaps", "--providers", str(p), "--people", str(q), "--out", str(out)]
            if areas_path == WARDS:
                argv += ["--areas", str(WARDS)]

            def command():
                import contextlib
                import io

                with (
                    contextlib.redirect_stdout(io.StringIO()),
                    contextlib.redirect_stderr(io.StringIO()),
                ):
                    assert cli(argv) == 0

            t_cmd, _, _ = best_of(command, args.repeat)
            mb_cov = peak_mb(coverage)
            mb_dense = peak_mb(lambda: dense_2sfca(people, providers))
        print(
            f"{scale:<10}{n_people:>7}{n_prov:>7}{len(reach):>11,}{t_read:>8.2f}{t_cov:>9.3f}"
            f"{t_dense:>9.3f}{t_dense / t_cov:>10.1f}{t_gaps:>8.2f}{t_cmd:>7.2f}"
            f"{t_cov / t_cmd:>10.1%}{t_cmd / t_read:>9.1f}{mb_cov:>9.0f}{mb_dense:>9.0f}"
        )
    print("times are the best of", args.repeat, "runs; dense and sparse access checked equal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
