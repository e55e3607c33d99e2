"""Output folders: an output never replaces an input, a run is all or nothing, and every
mistake about --out exits 2 before any work (found by trying as a careless user would)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import GOOD_PEOPLE as Q
from .helpers import csv_text as _csv
from .helpers import earlier_outputs as _earlier_outputs
from .helpers import run_cli as _run
from .helpers import write_file as _write
from .helpers import write_registers as _registers

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"


# --- an output never replaces an input ---------------------------------------------------------
@pytest.mark.parametrize(
    "command,name",
    [("match", "matches.csv"), ("gaps", "gaps.csv"), ("recruit", "recruit_sites.csv")],
)
def test_an_output_never_replaces_an_input(tmp_path, capsys, command, name):
    prov, _ = _registers(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    people = _write(out / name, _csv(Q))
    before = people.read_bytes()
    rc, _, err = _run([command, "--providers", prov, "--people", people, "--out", out], capsys)
    assert rc == 2 and "would replace it" in err and name in err
    assert people.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [name]


def test_a_link_to_an_output_is_seen_through(tmp_path, capsys):
    prov, _ = _registers(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    real = _write(out / "matches.csv", _csv(Q))
    link = tmp_path / "waiting_list.csv"
    link.symlink_to(real)
    rc, _, err = _run(["match", "--providers", prov, "--people", link, "--out", out], capsys)
    assert rc == 2 and "would replace it" in err
    assert real.read_text() == _csv(Q)


# --- all or nothing ------------------------------------------------------------------------
def test_a_full_disk_leaves_the_earlier_set_and_says_so(tmp_path, capsys):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    disk = tmp_path / "small"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=900k", "tmpfs", str(disk)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        out = _earlier_outputs(disk)
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        rc, _, err = _run(
            ["gaps", "--providers", DEMO / "providers.csv", "--people", DEMO / "people.csv",
             "--out", out],
            capsys,
        )  # fmt: skip
        assert rc == 1 and "the disk is full" in err and "as they were" in err
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    finally:
        subprocess.run(["umount", str(disk)])


def test_two_runs_on_one_folder_do_not_mix(tmp_path):
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "gapmap.cli.commands", "match", "--providers",
            str(DEMO / "providers.csv"), "--people", str(DEMO / "people.csv"), "--out", str(out),
            "--time-limit", "4"]  # fmt: skip
    first = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while not (out / ".gapmap.lock").exists() and time.time() < deadline:
        time.sleep(0.05)
    second = subprocess.run(argv, capture_output=True, text=True)
    assert second.returncode == 2 and "another gapmap run is writing" in second.stderr
    assert first.wait(timeout=120) == 0, first.stderr.read()
    assert sorted(p.name for p in out.iterdir()) == [
        "ABOUT_THESE_FILES.txt",
        "index.html",
        "matches.csv",
        "summary.json",
    ]


def test_a_commit_cut_short_is_finished_by_the_next_run(tmp_path):
    from gapmap.publish.folder import JOURNAL, OutputFolder

    out = tmp_path / "out"
    out.mkdir()
    (out / "gaps.csv").write_text("old")
    (out / "gap_map.html").write_text("old")
    stage = out / ".gapmap-run-1"
    stage.mkdir()
    (stage / "gap_map.html").write_text("new")  # gaps.csv was already moved when it was killed
    (out / "gaps.csv").write_text("new")
    (out / JOURNAL).write_text(
        json.dumps({"stage": stage.name, "files": ["gap_map.html", "gaps.csv"]})
    )
    with OutputFolder(out, inputs=[], outputs=["gaps.csv", "gap_map.html"]):
        pass
    assert (out / "gaps.csv").read_text() == (out / "gap_map.html").read_text() == "new"
    assert sorted(p.name for p in out.iterdir()) == ["gap_map.html", "gaps.csv"]


# --- every user mistake exits 2 before any long work -------------------------------------
def _unusable_out(tmp_path, capsys) -> list[float]:
    """Run match with an --out that cannot be used; each run's seconds."""
    prov, people = _registers(tmp_path)
    a_file = _write(tmp_path / "a_file", "x")
    took = []
    for out, words in ((a_file, "is a file"), (a_file / "sub", "is under a file")):
        t = time.perf_counter()
        rc, _, err = _run(["match", "--providers", prov, "--people", people, "--out", out], capsys)
        took.append(time.perf_counter() - t)
        assert rc == 2 and words in err and "--out" in err
    return took


def test_an_unusable_out_exits_2(tmp_path, capsys):
    _unusable_out(tmp_path, capsys)


@pytest.mark.slow  # a wall-clock check: out of the default run
def test_an_unusable_out_exits_2_before_any_work(tmp_path, capsys):
    assert max(_unusable_out(tmp_path, capsys)) < 5


def test_a_read_only_out_exits_2(tmp_path, capsys):
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a read-only tmpfs")
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        prov, people = _registers(tmp_path)
        rc, _, err = _run(["gaps", "--providers", prov, "--people", people, "--out", ro], capsys)
        assert rc == 2 and "--out" in err and "Read-only" in err
    finally:
        subprocess.run(["umount", str(ro)])


def test_a_folder_as_postcode_file_exits_2(tmp_path, capsys):
    prov, _ = _registers(tmp_path)
    rc, _, err = _run(["check", "--providers", prov, "--postcode-file", tmp_path], capsys)
    assert rc == 2 and "is a folder" in err


def test_serve_on_a_port_in_use_exits_2(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        rc, _, err = _run(["serve", "--providers", DEMO / "providers.csv", "--port", port], capsys)
    assert rc == 2 and "--port" in err and "already" in err
