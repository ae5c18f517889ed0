"""Shared test setup: tests never write into the user's runs/ folder."""

import pytest


@pytest.fixture(autouse=True)
def _isolated_runs_dir(tmp_path_factory, monkeypatch):
    """Every test saves user runs into its own temporary folder, never the repository's runs/."""
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))


@pytest.fixture
def one_thread():
    """Tiny models run several times faster on one torch thread than on two contended ones."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
