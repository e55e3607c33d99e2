"""The journeys' lower bound, worked out in a process of its own beside the search.

The distance stage (:mod:`gapmap.matching.journeys`) does two things at once on a matching
whose people are fixed: a search that shortens the journeys, and a *proven* lower bound on
them (the distance LP by column generation, then, if time is left, the knapsack Lagrangian
bound of :mod:`gapmap.matching.knapsack_bound` from the LP's prices). Both are mostly Python
between the solvers' calls, so in two threads of one process they take turns at Python's
lock: measured on the Kent year-3 and Somerset demo registers (9 s for the stage, load 3), the
search made 780-870 and 412 steps beside the LP thread against 1,110-1,390 and 1,012 alone,
and ended 100-600 km longer. Here the bound runs in a child process, so that each has a core.

The child is started with :func:`start` (``python -m gapmap.matching.journeys_bound``, in a
session of its own so that Ctrl+C in the terminal reaches only gapmap itself, which stops
it), reads the matching's people and their candidates from its standard input (pickled), and
writes a line of JSON each time the bound improves. It stops by the deadline it is given, and
also when its parent is gone (its input closes). :meth:`BoundProcess.result` returns the best
line written (killing the child if it is still running).
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np

from gapmap.matching.candidates import PersonOptions
from gapmap.matching.result import Match
from gapmap.settings import Settings

__all__ = ["BoundProcess", "seconds_left", "start", "work_out"]

#: the child stops this long before the stage's deadline, so that its last line is read
MARGIN = 0.15
#: up to this many people the distance LP follows the subgradient steps (more: the steps
#: have all the time, the LP would not converge within it); and the steps' share before it
LP_PEOPLE = 1500
SUBGRADIENT_SHARE = 0.3


class BoundProcess:
    """A running child working out the bound; :meth:`result` gives its best line."""

    def __init__(self, proc: subprocess.Popen, deadline: float):
        self.proc = proc
        self.deadline = deadline
        self.lines: list[dict] = []
        self.error: str | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                continue

    def result(self, stop: bool = False) -> dict[str, Any]:
        """The best bound the child wrote: waits for it until the deadline (not when
        ``stop``), then ends it.

        Returns
        -------
        dict
            ``bound_km`` (0.0 when none came), ``bound_converged``, ``lp_rounds``,
            ``patterns``, ``lp_seconds``, ``bound_method``, ``lp_error``.
        """
        if not stop:
            wait = max(0.0, self.deadline - time.perf_counter())
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=1.0)
        err = b""
        if self.proc.stderr is not None:
            err = self.proc.stderr.read() or b""
            self.proc.stderr.close()
        best: dict[str, Any] = {"bound_km": 0.0, "bound_converged": False, "lp_rounds": 0,
                                "patterns": 0, "lp_seconds": None,
                                "bound_method": None}  # fmt: skip
        for line in self.lines:
            if line.get("bound_km", 0.0) >= best["bound_km"]:
                best.update(line)
        best["lp_error"] = None
        if self.proc.returncode not in (0, -9) and err.strip():
            best["lp_error"] = err.decode(errors="replace").strip().splitlines()[-1]
        return best


def start(
    chosen: dict[int, Match],
    options: list[PersonOptions],
    room: np.ndarray,
    settings: Settings,
    deadline: float,
) -> BoundProcess:
    """Start the child working out the bound of ``chosen``'s people by ``deadline``.

    Parameters
    ----------
    chosen
        The matching of objective (1) (its people are kept matched).
    options
        Every person's candidates (only the matched people's are sent).
    room
        Each provider's free room in hundredths.
    settings
        ``absence_rate``, ``allow_without_cover``, ``no_cover_penalty_km``.
    deadline
        ``time.perf_counter()`` by which the bound is wanted.

    Returns
    -------
    BoundProcess
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gapmap.matching.journeys_bound"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env, start_new_session=True,
    )  # fmt: skip
    seconds = deadline - time.perf_counter() - MARGIN
    payload = {
        "chosen": chosen,
        "options": {p: options[p] for p in chosen},
        "room": room,
        "settings": settings,
        "seconds": seconds,
        "until": time.time() + seconds,  # the clock both processes read
    }
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    # written by a thread: the pipe takes the payload only as fast as the child reads it,
    # which is after its imports (about 0.65 s), and the search need not wait for that
    threading.Thread(target=_send, args=(proc, data), daemon=True).start()
    # stdin stays open: the child ends when it closes (the parent gone)
    return BoundProcess(proc, deadline)


def _send(proc: subprocess.Popen, data: bytes) -> None:
    """The payload, its length first, to the child's standard input."""
    assert proc.stdin is not None
    try:
        proc.stdin.write(struct.pack("<Q", len(data)) + data)
        proc.stdin.flush()
    except (BrokenPipeError, ValueError):  # the child failed at once (result() says why),
        pass  # or was ended before it had read it all


def work_out(
    chosen: dict[int, Match],
    options: dict[int, PersonOptions] | list[PersonOptions],
    room: np.ndarray,
    settings: Settings,
    seconds: float,
    say=lambda line: None,
    stop=lambda: False,
) -> dict[str, Any]:
    """The bound itself (what the child runs).

    First subgradient steps on the capacity prices (:mod:`gapmap.matching.distance_pricing`:
    every person priced at once, a valid bound at every step); then, for up to
    ``LP_PEOPLE`` people, the distance LP by column generation, seeded with the patterns the
    steps found (at Kent year-3 scale it converges in about two seconds; at Somerset's it
    would need more than the stage has, where the steps reach about 95% of it); then, with
    the time left, the knapsack bound of :mod:`gapmap.matching.knapsack_bound` from the best
    prices.

    Parameters
    ----------
    chosen, options, room, settings
        As :func:`start` (``options`` may hold only the matched people).
    seconds
        Time allowed.
    say
        Called with each improved bound (a dict as :meth:`BoundProcess.result` returns).
    stop
        Returns True to stop early.

    Returns
    -------
    dict
        The best bound found, as ``say`` was given it.
    """
    from gapmap.matching.distance_pricing import DistancePricer, lagrangian_bound
    from gapmap.matching.journeys import journey_figures, lp_prices
    from gapmap.matching.knapsack_bound import knapsack_bound
    from gapmap.matching.patterns import class_arrays

    t0 = time.perf_counter()
    deadline = t0 + seconds
    people = sorted(chosen)
    classes = {p: class_arrays(options[p], settings, room) for p in people}
    penalty = {p: settings.no_cover_penalty_km if options[p].needs_cover else 0.0
               for p in people}  # fmt: skip
    pricer = DistancePricer(people, classes, {p: options[p].distance for p in people}, penalty)
    best: dict[str, Any] = {"bound_km": -np.inf}
    seeds: dict[tuple[int, int, int, int, int], None] = {}

    def better(bound: float, how: str, converged: bool = False, **more: Any) -> None:
        if bound > best["bound_km"] + 1e-9 or (converged and not best.get("bound_converged")):
            best.update(bound_km=max(float(bound), best["bound_km"]), bound_method=how,
                        bound_converged=converged, lp_seconds=round(time.perf_counter() - t0, 2),
                        **more)  # fmt: skip
            best.setdefault("lp_rounds", 0)
            best.setdefault("patterns", 0)
            say(dict(best))

    def stepped(bound: float, mu: np.ndarray) -> None:  # keep the patterns, say the bound
        _, pick, ways = pricer.lagrangian(mu, room)
        for i, j in enumerate(pick.tolist()):
            if j >= 0:
                v, w, c = ways[j].tolist()
                seeds[(people[i], int(pricer.k[j]), v, w, c)] = None
        better(bound, "subgradient on the capacity prices")

    upper = journey_figures(chosen, options)["km_total"]  # type: ignore[arg-type]
    large = len(people) > LP_PEOPLE
    share = 1.0 if large else SUBGRADIENT_SHARE
    _, mu, _ = lagrangian_bound(pricer, room, upper, share * (deadline - time.perf_counter()),
                                stop=stop, each=stepped)  # fmt: skip
    if not large and time.perf_counter() < deadline - 0.2 and not stop():

        def each(bound: float, rounds: int) -> None:  # a round's Lagrangian: valid already
            better(bound, "distance LP (not converged)", lp_rounds=rounds)

        bound, converged, lp_mu, rounds, patterns = lp_prices(
            chosen, options, room, settings, deadline - time.perf_counter(), stop, each,
            seed=list(seeds),
        )  # fmt: skip
        better(bound, "distance LP" if converged else "distance LP (not converged)",
               converged, lp_rounds=rounds, patterns=patterns)  # fmt: skip
        if converged:
            mu = lp_mu
    left = deadline - time.perf_counter()
    if left > 0.5 and not stop():
        converged = bool(best.get("bound_converged"))

        def risen(bound: float) -> None:  # said at once: the parent may stop us any moment
            better(bound, "knapsack", converged)

        knapsack_bound(chosen, options, classes, room, settings, mu, left,  # type: ignore[arg-type]
                       deadline=deadline - 0.05, each=risen)  # fmt: skip
    return best


def seconds_left(payload: dict) -> float:
    """The child's time: to the parent's deadline, less what starting the child took (its
    imports and reading the payload, about half a second to a second). Counted from the
    child's own start it would end that much after the parent stopped reading, and the
    knapsack bound, which runs to the end, was lost at Kent year-3 scale. Never more than the
    parent gave (a clock set back meanwhile cannot lengthen it).

    Parameters
    ----------
    payload
        What :func:`start` sent: ``seconds`` and ``until`` (a :func:`time.time`).

    Returns
    -------
    float
        Seconds, at least 0.
    """
    return max(0.0, min(float(payload["seconds"]), float(payload["until"]) - time.time()))


def _main() -> None:
    """The child: payload on standard input, a JSON line per improved bound on its output."""
    (size,) = struct.unpack("<Q", sys.stdin.buffer.read(8))
    data = pickle.loads(sys.stdin.buffer.read(size))
    gone = threading.Event()

    def watch() -> None:  # the parent closes our input (or dies): stop
        try:
            sys.stdin.buffer.read()
        finally:
            gone.set()

    threading.Thread(target=watch, daemon=True).start()

    def say(line: dict) -> None:
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    work_out(data["chosen"], data["options"], data["room"], data["settings"],
             seconds_left(data), say, gone.is_set)  # fmt: skip
    sys.stdout.flush()
    # leave at once: the watching thread is still blocked reading the input, and Python's
    # shutdown would wait for that read's lock (a fatal error)
    os._exit(0)


if __name__ == "__main__":
    _main()
