"""The command line's conventions, for every subcommand: --version, exit statuses, Ctrl-C, --help without
TensorFlow and ending with an example, defaults shown, and one meaning per option name."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auralisation import __version__, cli

ROOT = Path(__file__).resolve().parents[1]

#: Subcommands that run for more than a moment: each takes --quiet (no progress bars).
LONG = ("generate", "train", "auralise", "report", "analyse", "lmac", "benchmark", "study", "atlas")

#: Options that must mean the same thing wherever they appear.
SHARED = ("--layers", "--features", "--n-features", "--n-layers", "--seeding", "--quiet", "--model", "--data")


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {option: action for action in parser._actions for option in action.option_strings}


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"auralisation {__version__}"


def test_help_of_every_subcommand_loads_no_tensorflow_and_ends_with_an_example() -> None:
    """In a fresh interpreter: each subcommand's --help exits 0, prints its help ending with an example of that
    subcommand, and leaves TensorFlow and Keras unimported."""
    code = f"""
import contextlib, io, json, sys
from auralisation.cli import SUBCOMMANDS, main
helps = {{}}
for name in SUBCOMMANDS:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main([name, "--help"])
        except SystemExit as done:
            assert done.code == 0, (name, done.code)
    helps[name] = out.getvalue()
print(json.dumps({{"helps": helps, "heavy": [m for m in ("tensorflow", "keras", "torch") if m in sys.modules]}}))
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    assert found["heavy"] == []
    assert set(found["helps"]) == set(cli.SUBCOMMANDS)
    for name, text in found["helps"].items():
        lines = text.rstrip().splitlines()
        assert lines[-2] == "example:" and lines[-1].startswith(f"  auralisation {name} "), (name, lines[-2:])


def test_defaults_are_shown_and_long_subcommands_take_quiet() -> None:
    for name, parser in _subparsers().items():
        text = parser.format_help()
        options = _options(parser)
        for option, action in options.items():
            if action.default not in (None, False, argparse.SUPPRESS) and action.option_strings[-1] == option:
                assert "default" in (action.help or "") or parser._get_formatter()._get_help_string(action) != \
                    action.help, (name, option)
        assert ("--quiet" in options) == (name in LONG), name
        assert "--rule" not in options and "--no-progress" not in options and "--readme" not in options, name
        assert "(default:" in text or not any(a.default not in (None, False) for a in options.values()), name


def test_shared_options_mean_the_same_everywhere() -> None:
    """The same parser and choices wherever a shared option appears, and the same words where it has no context."""
    seen: dict[str, tuple[str, argparse.Action]] = {}
    for name, parser in _subparsers().items():
        for option, action in _options(parser).items():
            if option not in SHARED:
                continue
            first, earlier = seen.setdefault(option, (name, action))
            assert (action.type, action.choices) == (earlier.type, earlier.choices), (name, option, first)
            if option in ("--features", "--seeding", "--quiet"):
                assert action.help == earlier.help, (name, option, first)
        if "--method" in _options(parser):
            assert _options(parser)["--method"].help.startswith("attribution method"), name
    assert {"--layers", "--features", "--n-features", "--seeding", "--quiet"} <= set(seen)


@pytest.mark.parametrize("name", [name for name, parser in _subparsers().items() if "--layers" in _options(parser)])
def test_layers_take_ranges_lists_and_names(name: str) -> None:
    layers = _options(_subparsers()[name])["--layers"].type
    assert layers("1-5") == [1, 2, 3, 4, 5] and layers("1,3") == [1, 3] and layers("2,pool4") == [2, "pool4"]
    with pytest.raises(argparse.ArgumentTypeError, match="backwards"):
        layers("5-1")


def test_features_are_indices_and_n_features_a_count() -> None:
    parsers = _subparsers()
    for name, parser in parsers.items():
        options = _options(parser)
        if "--features" in options:
            assert options["--features"].type("0-2,17") == [0, 1, 2, 17] and options["--features"].type("all") is None
        if "--n-features" in options:
            assert options["--n-features"].type is int, name
    assert sum("--features" in _options(p) for p in parsers.values()) >= 1
    assert sum("--n-features" in _options(p) for p in parsers.values()) >= 3


def test_exit_statuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """0 done, 1 a domain error in one line on stderr, 2 a usage error."""
    assert cli.main(["generate", "default", "--out", str(tmp_path), "--tracks-per-style", "0", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("auralisation generate: error: ") and "at least 1" in err
    with pytest.raises(SystemExit) as usage:
        cli.main(["auralise", "--model", "m", "--audio", "a.wav", "--out", "o", "--layers", "5-1"])
    assert usage.value.code == 2 and "runs backwards" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        cli.main(["nope"])
    assert usage.value.code == 2


def test_ctrl_c_ends_with_one_line_and_130(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from auralisation.cli import generate

    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(generate, "run_generate", interrupted)
    assert cli.main(["generate", "stimuli", "--quiet"]) == 130
    assert capsys.readouterr().err == "auralisation generate: interrupted\n"


def test_study_touches_no_readme_unless_asked() -> None:
    options = _options(_subparsers()["study"])
    assert options["--update-readme"].default is None
    assert "--update-readme" in (ROOT / "Makefile").read_text(encoding="utf-8")
