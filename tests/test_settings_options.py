"""The command line's options are made from Settings, and settings can come from a TOML file:
every setting a command uses has one help text and a flag on that command, the file's mistakes
are named by file and key (exit 2), and a flag overrides the file, which overrides the command's
own default."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from gapmap.cli.commands import build_parser, main
from gapmap.cli.options import settings_from
from gapmap.errors import InputError
from gapmap.settings import GROUPS, Settings, flag_of

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "settings_example.toml"


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every command and step of the parser, by name ("db import")."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield " ".join((*path, name)), sub
                yield from _commands(sub, (*path, name))


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in parser._actions for s in a.option_strings}


def test_every_setting_a_command_uses_has_a_help_text_and_a_flag_on_that_command():
    parsers = dict(_commands(build_parser()))
    assert set(c for cs in GROUPS.values() for c in cs) <= set(parsers)
    checked = 0
    for f in fields(Settings):
        group = f.metadata.get("group")
        assert len(f.metadata.get("help", "")) > 10, f"{f.name} has no help text"
        for command in GROUPS.get(group or "", ()):
            options = _options(parsers[command])
            assert flag_of(f.name) in options, f"{command} lacks {flag_of(f.name)}"
            assert f.metadata["help"] in options[flag_of(f.name)].help
            assert "--settings" in options, command
            checked += 1
    assert checked >= 129, checked  # 13 commands, 29 settings on the command line


def test_a_setting_flag_is_on_no_command_its_group_does_not_name():
    """Each command's setting flags are exactly those of its groups (no hand-made extras)."""
    flags = {flag_of(f.name): f for f in fields(Settings)}
    for command, parser in _commands(build_parser()):
        for flag in set(_options(parser)) & set(flags):
            if (command, flag) == ("make-demo", "--seed"):
                continue  # the seed of the synthetic registers, not the solvers' seed
            group = flags[flag].metadata.get("group")
            assert command in GROUPS.get(group or "", ()), (command, flag)


def test_one_help_text_per_option():
    """A flag reads the same on every command that has it (defaults aside)."""
    seen: dict[str, set[str]] = {}
    for _, parser in _commands(build_parser()):
        for flag, action in _options(parser).items():
            if action.help and flag.startswith("--"):
                seen.setdefault(flag, set()).add(re.sub(r" \(default [^)]*\)$", "", action.help))
    setting_flags = {flag_of(f.name) for f in fields(Settings)}
    twice = {f: helps for f, helps in seen.items() if f in setting_flags and len(helps) > 1}
    assert not twice, twice


def _settings(argv: list[str]) -> Settings:
    return settings_from(build_parser().parse_args(argv))


def test_a_flag_overrides_the_file_and_the_file_the_commands_default(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text("match_time_limit_s = 45\ncircuity = 1.3\n[suppression]\nhigh = 10\nbase = 10\n")
    assert _settings(["demo"]).match_time_limit_s == 20.0  # the demo's own default
    from_file = _settings(["demo", "--settings", str(f)])
    assert from_file.match_time_limit_s == 45.0 and from_file.circuity == 1.3
    assert (from_file.suppression.low, from_file.suppression.high) == (1, 10)
    assert _settings(["demo", "--settings", str(f), "--time-limit", "7"]).match_time_limit_s == 7
    # the file's other keys stay when one flag is given
    flagged = _settings(["match", "--settings", str(f), "--circuity", "1.1", "--out", "o"])
    assert (flagged.circuity, flagged.match_time_limit_s) == (1.1, 45.0)


def test_the_example_file_has_every_setting_at_its_default():
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text == Settings().to_toml()  # rebuild: Settings().to_toml() into the file
    keys = set(re.findall(r"^(\w+) = ", text, flags=re.M))
    assert {f.name for f in fields(Settings) if f.name != "suppression"} <= keys
    assert "[suppression]" in text
    assert Settings.from_toml(EXAMPLE) == Settings()


@pytest.mark.parametrize(
    "text,key,expected",
    [
        ("circuity_km = 1.3\n", "circuity_km", "is not a setting (did you mean circuity?)"),
        ("workers = 2.5\n", "workers", "must be a whole number"),
        ("enhanced = 1\n", "enhanced", "must be true or false"),
        ("snap_km = true\n", "snap_km", "must be a number"),
        ("need = 3\n", "need", "must be text in quotes"),
        ("circuity = 0.5\n", "circuity", "must be from 1 to 5"),
        ("need = 'everyone'\n", "need", "must be register, estimated or auto"),
        ("absence_rate = nan\n", "absence_rate", "must be a finite number"),
        ("[suppression]\nbase = 0\n", "suppression", "must hide counts from low to high"),
        ("[suppression]\nlowest = 1\n", "suppression.lowest", "is not a part of the rule"),
        ("suppression = 5\n", "suppression", "must be a table"),
    ],
)
def test_a_bad_settings_file_is_refused_naming_file_and_key(tmp_path, text, key, expected):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(InputError) as e:
        Settings.from_toml(f)
    message = str(e.value.problems[0])
    assert message.startswith(f"{f}: key '{key}' {expected}"), message


def test_every_problem_of_a_file_is_listed_at_once(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("circuity = 'far'\nworker = 4\nabsence_rate = 2\nradius_km = 10\n")
    with pytest.raises(InputError) as e:
        Settings.from_toml(f)
    keys = [re.findall(r"key '(\w+)'", str(p))[0] for p in e.value.problems]
    assert keys == ["circuity", "worker", "absence_rate"]


def test_a_bad_settings_file_exits_2_naming_it_without_a_traceback(tmp_path, capsys):
    f = tmp_path / "kent.toml"
    f.write_text("circuity = 9\n")
    assert main(["compare", "--settings", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{f}: key 'circuity' must be from 1 to 5" in err, err
    (tmp_path / "broken.toml").write_text("circuity = [\n")
    r = subprocess.run(
        [sys.executable, "-m", "gapmap", "compare", "--settings", str(tmp_path / "broken.toml"),
         "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2 and "broken.toml: is not a TOML file" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_a_runs_settings_written_out_read_back_the_same(tmp_path):
    from gapmap.publish.disclosure import Suppression

    s = Settings(
        circuity=1.25, drop_outside=True, workers=3, need="register",
        recruit_services="domestic;social", suppression=Suppression(1, 10, 10),
    )  # fmt: skip
    f = tmp_path / "run.toml"
    f.write_text(s.to_toml(), encoding="utf-8")
    assert Settings.from_toml(f) == s
