import subprocess
import sys

from gapmap.cli import main

from .conftest import write


def test_demo_prints_a_summary(capsys, tmp_path):
    assert main(["demo", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "416" in out and "2500" in out and "Canterbury" in out and "Total" in out


def test_bad_register_exits_2_without_traceback(tmp_path):
    path = write(tmp_path, "p.csv", "provider_id,name\nA,B\n")
    r = subprocess.run(
        [sys.executable, "-m", "gapmap", "check", "--providers", str(path)],
        capture_output=True, text=True,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "column 'services'" in r.stderr and str(path) in r.stderr


def test_unknown_option_exits_2(capsys):
    assert main(["check", "--nonsense"]) == 2


def test_check_on_real_wards(capsys):
    from .conftest import WARDS_2013, shared_file
    from gapmap.demo import demo_paths

    prov, people = demo_paths()
    code = main(["check", "--providers", str(prov), "--people", str(people),
                 "--areas", str(shared_file(WARDS_2013))])
    assert code == 0
    assert "283" in capsys.readouterr().out
