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
