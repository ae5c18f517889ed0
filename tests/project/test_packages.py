"""Every sub-package names its public API, and each name it offers is really there."""

import importlib
import subprocess
import sys

import pytest

import bachlstm

PACKAGES = (
    "settings",
    "music",
    "tokens",
    "model",
    "analysis",
    "corpus",
    "training",
    "generation",
    "reports",
    "classroom",
)


@pytest.mark.parametrize("name", PACKAGES)
def test_every_name_a_package_offers_exists(name):
    package = importlib.import_module(f"bachlstm.{name}")
    assert package.__all__, f"bachlstm.{name} names nothing"
    missing = [n for n in package.__all__ if getattr(package, n, None) is None]
    assert not missing, f"bachlstm.{name} offers names its modules lack: {missing}"


def test_the_notebook_entry_points_exist():
    assert {
        "load_checkpoint",
        "train",
        "generate",
        "compare_methods",
        "inspect_melody",
        "read_primer",
    } <= set(bachlstm.__all__)
    assert all(callable(getattr(bachlstm, n)) for n in bachlstm.__all__ if n[0].islower())


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        bachlstm.generation.no_such_thing  # noqa: B018


def test_importing_the_packages_costs_no_torch():
    """The names are imported on first use: the packages alone pull in neither torch nor music21."""
    code = (
        "import sys, bachlstm, " + ", ".join(f"bachlstm.{p}" for p in PACKAGES) + "; "
        "print(sorted(m for m in ('torch', 'music21') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
