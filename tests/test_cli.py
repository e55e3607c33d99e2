import subprocess
import sys

from gapmap.cli import main

from .conftest import write


def test_demo_prints_a_summary(capsys, tmp_path):
    assert main(["demo", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "416" in out and "2500" in out and "Canterbury" in out and "Total" in out
    assert "Largest gaps" in out
    assert (tmp_path / "out" / "gap_map.html").exists() and (tmp_path / "out" / "gaps.csv").exists()


def test_bad_register_exits_2_without_traceback(tmp_path):
    path = write(tmp_path, "p.csv", "provider_id,name\nA,B\n")
    r = subprocess.run(
        [sys.executable, "-m", "gapmap", "check", "--providers", str(path)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "column 'services'" in r.stderr and str(path) in r.stderr


def test_unknown_option_exits_2(capsys):
    assert main(["check", "--nonsense"]) == 2


def test_check_on_real_wards(capsys):
    from gapmap.demo import demo_paths

    from .conftest import WARDS_2013, shared_file

    prov, people = demo_paths()
    code = main(
        [
            "check",
            "--providers",
            str(prov),
            "--people",
            str(people),
            "--areas",
            str(shared_file(WARDS_2013)),
        ]
    )
    assert code == 0
    assert "283" in capsys.readouterr().out


def test_gaps_on_real_wards_with_ons_rural_classification(capsys, tmp_path):
    from gapmap.demo import demo_paths

    from .conftest import WARDS_2013, shared_file

    prov, people = demo_paths()
    out = tmp_path / "gaps"
    code = main(
        [
            "gaps",
            "--providers",
            str(prov),
            "--people",
            str(people),
            "--areas",
            str(shared_file(WARDS_2013)),
            "--rural",
            str(shared_file("kent_ruc2011_ward11.csv")),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "of 96 rural areas" in text
    for name in ("gaps.csv", "gaps.gpkg", "gap_map.html", "gap_map.png"):
        assert (out / name).exists()
    assert not (out / "internal_gaps_exact.csv").exists()


def test_gaps_rejects_bad_options(tmp_path, capsys):
    from gapmap.demo import demo_paths

    prov, people = demo_paths()
    code = main(
        [
            "gaps",
            "--providers",
            str(prov),
            "--people",
            str(people),
            "--out",
            str(tmp_path),
            "--circuity",
            "0",
        ]
    )
    assert code == 2
    assert "circuity" in capsys.readouterr().err
    assert not (tmp_path / "gaps.csv").exists()
