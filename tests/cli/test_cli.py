"""The command line is complete: every command family is registered and `--help` works."""

import pkgutil

import pytest

import bachlstm.cli
from bachlstm.cli import COMMAND_MODULES, build_parser, main

# the modules of bachlstm/cli/ that are not command families
NOT_COMMANDS = {"args"}


def test_every_command_module_is_registered():
    """Every module in bachlstm/cli/ (read from the folder, not from what is imported) is a command."""
    on_disk = {m.name for m in pkgutil.iter_modules(bachlstm.cli.__path__)} - NOT_COMMANDS
    assert on_disk == set(COMMAND_MODULES)


def test_benchmarks_have_their_own_entry_point(capsys):
    """`python -m benchmarks NAME`: outside the installed package, every benchmark named in its help."""
    from benchmarks.__main__ import BENCHES
    from benchmarks.__main__ import main as bench_main

    with pytest.raises(SystemExit) as exc:
        bench_main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in BENCHES)
    assert "bench" not in COMMAND_MODULES


def test_top_level_help_lists_all_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("corpus", "train", "evaluate", "generate", "compare", "inspect", "score"):
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
