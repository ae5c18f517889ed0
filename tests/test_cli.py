"""The command line is complete: every command family is registered and `--help` works."""

import importlib.util

import pytest

from bachlstm.cli import COMMAND_MODULES, build_parser, main


@pytest.mark.parametrize("name", COMMAND_MODULES)
def test_every_command_module_exists(name):
    assert importlib.util.find_spec(f"bachlstm.cli.{name}") is not None


def test_top_level_help_lists_all_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("corpus", "train", "evaluate", "generate", "compare", "inspect", "bench"):
        assert command in out


def test_unknown_command_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["nonsense"])
    assert exc.value.code == 2


def test_every_bad_setting_is_named_by_its_option(capsys):
    """All at once, each on its line, by the option the user typed (not the library's field name)."""
    from bachlstm.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["train", "--preset", "workshop", "--epochs", "0", "--batch-size", "0", "--lr", "5"])
    assert exc.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "error: --epochs must be a whole number from 1 to 10,000, got 0"
    assert lines[1] == "error: --batch-size must be a whole number from 1 to 65,536, got 0"
    assert lines[2] == "error: --lr must be above 0 and at most 1, got 5.0"
