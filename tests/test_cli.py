import subprocess
import sys

from gapmap.cli.commands import main

from .conftest import write


def test_demo_prints_a_summary(demo_run, demo_registers):
    import json

    import pandas as pd

    from gapmap.publish.disclosure import published_count

    rc, out, err, out_dir = demo_run
    assert rc == 0, err
    providers, people = demo_registers
    assert f"{len(providers):>6}" in out and f"{len(people):>6}" in out
    assert "Canterbury" in out and "Total" in out
    assert "Largest unmet need" in out
    assert (out_dir / "gap_map.html").exists() and (out_dir / "gaps.csv").exists()
    # batch matching of the demo waiting list, checked before it was written
    matches = pd.read_csv(out_dir / "matches.csv", dtype=str)
    assert len(matches) == len(people)
    summary = json.loads((out_dir / "summary.json").read_text())
    matched = int(matches["provider_id"].notna().sum())
    assert matched > 0 and summary["matched_people"] == published_count(matched)
    # two example suggestions, each with a named cover provider
    assert out.count("Suggestions for someone at") == 2
    assert out.count("cover:") >= 2
    # recruitment for Kent's three targets, with its map
    scen = pd.read_csv(out_dir / "recruit_scenarios.csv")
    assert scen["new_providers"].tolist() == [60, 223, 416]
    assert (out_dir / "recruit_map.html").exists() and "Where to look first" in out


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


def test_match_command_writes_checked_outputs(tmp_path, capsys):
    import json

    import pandas as pd

    from gapmap.demo import write_demo_registers

    p, q = write_demo_registers(tmp_path / "in", providers=40, people=200)
    out = tmp_path / "out"
    assert (
        main(
            [
                "match",
                "--providers",
                str(p),
                "--people",
                str(q),
                "--out",
                str(out),
                "--time-limit",
                "5",
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "people",
        "matched_people",
        "matched_hours",
        "unmatched_by_reason",
        "objective_priority_hours",
        "best_bound",
        "optimality_gap",
        "solver_status",
        "seconds",
    ):
        assert key in summary
    table = pd.read_csv(out / "matches.csv", encoding="utf-8-sig")
    assert len(table) == 200 and table["person_id"].is_unique
    from gapmap.publish.disclosure import published_count

    assert published_count((table["status"] == "matched").sum()) == summary["matched_people"]
    assert table.loc[table["status"] == "unmatched", "reason"].notna().all()
    assert "progress" not in capsys.readouterr().out  # progress goes to stderr


def test_match_rejects_zero_time_limit(tmp_path, capsys):
    from gapmap.demo import demo_paths

    prov, people = demo_paths()
    assert (
        main(
            [
                "match",
                "--providers",
                str(prov),
                "--people",
                str(people),
                "--out",
                str(tmp_path),
                "--time-limit",
                "0",
            ]
        )
        == 2
    )
    assert "--time-limit" in capsys.readouterr().err
    assert not (tmp_path / "matches.csv").exists()


def test_recruit_command(tmp_path, capsys, builtin_areas):
    import pandas as pd

    from gapmap.demo import write_demo_registers

    p, q = write_demo_registers(tmp_path / "in", providers=60, people=400)
    out = tmp_path / "out"
    args = ["recruit", "--providers", str(p), "--people", str(q), "--out", str(out)]
    assert main([*args, "--new-providers", "5,12", "--recruit-time-limit", "5"]) == 0
    scen = pd.read_csv(out / "recruit_scenarios.csv")
    assert scen["new_providers"].tolist() == [5, 12]
    assert (scen["providers_placed"] <= scen["new_providers"]).all()
    ranked = pd.read_csv(out / "recruit_areas.csv")
    assert ranked["reason"].notna().all() and len(ranked) == len(builtin_areas)
    # areas with nothing to recruit for have no rank (blank), and come last
    unranked = ranked["priority_rank"].isna()
    assert unranked.any() and not unranked[: (~unranked).sum()].any()
    # bad options: exit 2 with the option named, nothing new written
    for bad, word in (
        (["--new-providers", "0"], "--new-providers"),
        (["--new-providers", "ten"], "--new-providers"),
        (["--new-providers", "5000"], "candidate sites"),
        (["--radius-km", "-3"], "--radius-km"),
        (["--recruit-time-limit", "0"], "--recruit-time-limit"),
    ):
        assert main([*args[:-1], str(tmp_path / "bad"), *bad]) == 2
        assert word in capsys.readouterr().err
        assert not (tmp_path / "bad").exists()


def test_check_works_with_any_subset_of_its_inputs(tmp_path, capsys):
    from gapmap.demo import write_demo_registers

    p, q = write_demo_registers(tmp_path / "in", providers=20, people=50)
    for argv in (
        ["check"],
        ["check", "--providers", str(p)],
        ["check", "--people", str(q)],
        ["check", "--providers", str(p), "--people", str(q)],
    ):
        assert main(argv) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert "areas:" in out and "Total" in out
        assert ("20 providers" in out) == ("--providers" in argv)
        assert ("50 people" in out) == ("--people" in argv)


def test_debug_is_accepted_anywhere_on_the_line(tmp_path, capsys):
    from gapmap.demo import write_demo_registers

    p, _ = write_demo_registers(tmp_path / "in", providers=20, people=50)
    for argv in (
        ["--debug", "check", "--providers", str(p)],
        ["check", "--debug", "--providers", str(p)],
        ["check", "--providers", str(p), "--debug"],
    ):
        assert main(argv) == 0, capsys.readouterr().err


def test_suggest_needs_both_answers_on_the_command_line(capsys):
    """--self-directing and --regulated-care are required (before issue 31 a missing
    --self-directing was read as yes): a usage error naming them, exit 2, no traceback."""
    from gapmap.demo import demo_paths
    from gapmap.safety import SELF_DIRECTING_ADVICE

    prov, _ = demo_paths()
    base = ["suggest", "--providers", str(prov), "--postcode", "CT1 2AA", "--hours", "4",
            "--days", "Mon", "--services", "social"]  # fmt: skip
    for extra, named in (
        ([], ("--self-directing", "--regulated-care")),
        (["--self-directing", "yes"], ("--regulated-care",)),
        (["--regulated-care", "no"], ("--self-directing",)),
    ):
        assert main(base + extra) == 2
        err = capsys.readouterr().err
        assert "required" in err and all(n in err for n in named), err
        assert "Traceback" not in err
    assert main(base + ["--self-directing", "maybe", "--regulated-care", "no"]) == 2
    assert "--self-directing" in capsys.readouterr().err
    assert main(base + ["--self-directing", "no", "--regulated-care", "no"]) == 0
    out = capsys.readouterr().out
    assert SELF_DIRECTING_ADVICE in out and "1. " not in out
