"""Shared test setup: tests never write into the user's runs/ folder."""

import pytest

from tests.builders import scale_melodies


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


@pytest.fixture(scope="session")
def real():
    """The shipped corpus cache, read directly (a test fails, not rebuilds, when it is bad)."""
    from bachlstm.corpus.cache import DEFAULT_CACHE_PATH, read_cache

    return read_cache(DEFAULT_CACHE_PATH)


@pytest.fixture(scope="session")
def checkpoint_path(tmp_path_factory):
    """A checkpoint trained for a moment on `scale_melodies` (generation, comparison and CLI tests)."""
    from bachlstm.training.loop import train
    from bachlstm.training.presets import get_preset

    small = dict(
        embedding_dim=4, lstm_sizes=(8,), dropouts=(0.0,), epochs=1, batch_size=4, seq_len=16, stride=8
    )
    preset = get_preset("bach", **small, augment_semitones=())
    out = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    train(preset, out=out, data=scale_melodies(9))
    return out
