"""Shared test setup: tests never write into the user's runs/ folder."""

import pytest


@pytest.fixture(autouse=True)
def _isolated_runs_dir(tmp_path_factory, monkeypatch):
    """Every test saves user runs into its own temporary folder, never the repository's runs/."""
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))
