"""Tests for model.checkpoints: round trip, atomic writes, clear errors on bad files, names, listing."""

import json
import os
import pickle
import struct

import pytest
import torch
from safetensors.torch import save as st_save

from bachlstm.model.checkpoints import (
    CheckpointError,
    checkpoint_info,
    list_checkpoints,
    load_checkpoint,
    read_meta,
    resolve_checkpoint,
    run_path,
    save_checkpoint,
    validate_name,
    validate_run_name,
    weights_digest,
)
from bachlstm.model.lstm import LSTMModel, ModelConfig
from bachlstm.training.splits import checkpoint_selection
from tests.builders import ROOT, short_melody


def make_model(tokenizer, sizes=(8,), seed=0) -> LSTMModel:
    torch.manual_seed(seed)
    config = ModelConfig(
        vocab_size=len(tokenizer.vocab), embedding_dim=4, lstm_sizes=sizes, dropouts=(0.0,) * len(sizes)
    )
    return LSTMModel(config).eval()


@pytest.fixture
def saved(tmp_path, tokenizer):
    model = make_model(tokenizer)
    path = save_checkpoint(
        tmp_path / "m.safetensors", model, tokenizer, {"preset": "tiny", "history": [1, 2]}
    )
    return path, model


def test_round_trip_gives_bit_identical_logits(saved, tokenizer):
    path, model = saved
    ckpt = load_checkpoint(path)
    x = torch.tensor([tokenizer.encode(short_melody())])
    assert torch.equal(ckpt.model(x)[0], model(x)[0])
    assert ckpt.tokenizer.to_dict() == tokenizer.to_dict()
    assert ckpt.config == model.config
    assert ckpt.meta["preset"] == "tiny" and ckpt.meta["history"] == [1, 2]
    assert ckpt.meta["package_version"]
    assert not ckpt.model.training
    assert read_meta(path)["model_config"] == model.config.to_dict()


def test_save_is_one_file_without_leftovers_and_replaces_atomically(tmp_path, tokenizer):
    path = tmp_path / "sub" / "m.safetensors"
    save_checkpoint(path, make_model(tokenizer, seed=1), tokenizer)
    first = path.read_bytes()
    # A failing save (metadata that is not JSON) leaves the previous file untouched and no temp file.
    with pytest.raises(TypeError):
        save_checkpoint(path, make_model(tokenizer, seed=2), tokenizer, {"bad": object()})
    assert path.read_bytes() == first
    assert [p.name for p in path.parent.iterdir()] == ["m.safetensors"]
    save_checkpoint(path, make_model(tokenizer, seed=2), tokenizer)
    assert path.read_bytes() != first
    assert [p.name for p in path.parent.iterdir()] == ["m.safetensors"]


def test_extra_tensors_are_kept_apart_from_the_weights(tmp_path, tokenizer):
    path = save_checkpoint(
        tmp_path / "m.safetensors",
        make_model(tokenizer),
        tokenizer,
        extra_tensors={"optimizer.0.step": torch.ones(1)},
    )
    ckpt = load_checkpoint(path)
    assert list(ckpt.extra) == ["optimizer.0.step"]
    assert checkpoint_info(path).n_params == ckpt.model.n_params()


def test_loading_never_unpickles(tmp_path, monkeypatch):
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"x": 1}))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled"))
    with pytest.raises(CheckpointError, match="evil.safetensors"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b"", "truncated or empty"),
        (lambda b: b[: len(b) // 2], "truncated"),
        (lambda b: b[:-1], "truncated"),
        (lambda b: b + b"\0", "padded"),
        (lambda b: b[:8] + b"{" * 4 + b[12:], "not JSON"),
        (lambda b: struct.pack("<Q", 10**12) + b[8:], "corrupt or truncated safetensors header"),
        (lambda b: b[:-3] + bytes([b[-3] ^ 0xFF]) + b[-2:], "checksum"),
    ],
    ids=["empty", "half", "one-byte-short", "padded", "header-garbage", "huge-length", "bit-flip"],
)
def test_damaged_files_raise_clear_errors(saved, mangle, message):
    path, _ = saved
    path.write_bytes(mangle(path.read_bytes()))
    with pytest.raises(CheckpointError, match=message) as err:
        load_checkpoint(path)
    assert str(path) in str(err.value)
    assert isinstance(err.value, ValueError)


def _rewrite(path, tensors, meta=None, **header):
    base = {"format": "bachlstm-checkpoint", "format_version": "1"}
    if meta is not None:
        base["bachlstm"] = json.dumps(meta)
    header = {**base, **header}
    path.write_bytes(st_save(tensors, metadata=header))


def test_weights_that_do_not_match_the_config(saved, tokenizer):
    path, _ = saved
    meta = read_meta(path)
    other = make_model(tokenizer, sizes=(16,))
    tensors = {k: v.contiguous() for k, v in other.state_dict().items()}
    _rewrite(path, tensors, {**meta, "weights_sha256": weights_digest(tensors)})
    with pytest.raises(CheckpointError, match=r"weights do not match the model config: lstms.0.weight_ih_l0"):
        load_checkpoint(path)
    del tensors["out.bias"]
    _rewrite(path, tensors, {**meta, "weights_sha256": weights_digest(tensors)})
    with pytest.raises(CheckpointError, match=r"missing \['out.bias'\]"):
        load_checkpoint(path)


def test_vocabulary_that_does_not_match_the_model(saved):
    path, model = saved
    meta = read_meta(path)
    meta["tokenizer"]["vocab"].remove("D4_1")
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    _rewrite(path, tensors, meta)
    with pytest.raises(CheckpointError, match="vocabulary has .* tokens but the model expects"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"format": "pt"}, "unknown format 'pt'"),
        ({"format_version": "99"}, "newer than this bachlstm supports"),
        ({"format_version": "x"}, "bad format_version"),
        ({"bachlstm": "{not json"}, "corrupt metadata JSON"),
        ({"bachlstm": "{}"}, "metadata lacks"),
    ],
    ids=["foreign", "future", "bad-version", "bad-json", "empty-meta"],
)
def test_unknown_or_foreign_formats(saved, header, message):
    path, model = saved
    meta = read_meta(path)
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    _rewrite(path, tensors, meta, **header)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_plain_safetensors_without_metadata_is_unknown_format(tmp_path):
    path = tmp_path / "plain.safetensors"
    path.write_bytes(st_save({"w": torch.zeros(2)}))
    with pytest.raises(CheckpointError, match="unknown format None"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "name",
    ["../etc", "a/b/../c", "..", ".hidden", "a..b", "", "with space", "x" * 65, "trailing.", "é"],
    ids=[
        "traversal",
        "nested",
        "dotdot",
        "hidden",
        "double-dot",
        "empty",
        "space",
        "long",
        "dot-end",
        "unicode",
    ],
)
def test_bad_names_are_rejected(name):
    with pytest.raises(CheckpointError):
        validate_name(name)
    with pytest.raises(CheckpointError):
        resolve_checkpoint(name) if "/" not in name else resolve_checkpoint(name + "-missing")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("../etc", "not allowed"),
        ("a b", "not allowed"),
        ("-x", "not allowed"),
        ("x" * 49, "not allowed"),
        ("name.", "not allowed"),
        ("bach", "reserved"),
        ("Workshop", "reserved"),
    ],
    ids=["empty", "blank", "path", "space", "dash-first", "too-long", "dot-last", "bach", "workshop"],
)
def test_bad_run_names(name, message):
    with pytest.raises(CheckpointError, match=message):
        validate_run_name(name)


def test_good_run_name_is_stripped():
    assert validate_run_name("  my_run-2.b ") == "my_run-2.b"
    assert validate_run_name("x" * 48) == "x" * 48
    assert issubclass(CheckpointError, ValueError)


def test_names_resolve_to_shipped_models_and_user_runs(tmp_path, monkeypatch, tokenizer):
    shipped, runs = tmp_path / "shipped", tmp_path / "runs"
    monkeypatch.setenv("BACHLSTM_CHECKPOINTS_DIR", str(shipped))
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(runs))
    model = make_model(tokenizer)
    save_checkpoint(
        shipped / "bach.safetensors", model, tokenizer, {"preset": "bach", "metrics": {"top1": 0.5}}
    )
    save_checkpoint(run_path("my-run.2"), model, tokenizer, {"preset": "workshop"})
    (runs / "broken.safetensors").write_bytes(b"nonsense")
    assert resolve_checkpoint("bach") == shipped / "bach.safetensors"
    assert resolve_checkpoint("my-run.2") == runs / "my-run.2.safetensors"
    assert resolve_checkpoint(str(runs / "my-run.2.safetensors")) == runs / "my-run.2.safetensors"
    with pytest.raises(
        CheckpointError, match=r"no checkpoint named 'nope' \(available: bach, broken, my-run.2\)"
    ):
        resolve_checkpoint("nope")
    with pytest.raises(CheckpointError, match="no checkpoint file at"):
        resolve_checkpoint(tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match="shipped model"):
        run_path("bach")
    infos = {i.name: i for i in list_checkpoints()}
    assert infos["bach"].shipped and infos["bach"].preset == "bach" and infos["bach"].metrics == {"top1": 0.5}
    assert not infos["my-run.2"].shipped and infos["my-run.2"].error is None
    assert infos["my-run.2"].n_params == model.n_params()
    # Messages name the run, never the server's directories (they reach students' browsers).
    assert infos["broken"].status == "broken" and "truncated" in infos["broken"].error
    assert str(runs) not in infos["broken"].error
    with pytest.raises(CheckpointError, match=r"^broken: ") as err:
        load_checkpoint("broken")
    assert str(runs) not in str(err.value)
    assert os.path.exists(shipped / "bach.safetensors")


def test_shipped_models_load_by_name_and_are_listed():
    infos = {i.name: i for i in list_checkpoints() if i.shipped}
    assert set(infos) == {"workshop", "bach", "chorale"}
    for name in ("workshop", "bach", "chorale"):
        assert infos[name].error is None and infos[name].preset == name
        ckpt = load_checkpoint(name)
        assert ckpt.meta["preset"] == name and ckpt.meta["complete"]
        # Re-saved without the duplicated selection/data/train/seed keys (weights unchanged).
        assert not {"selection", "data", "train", "seed"} & set(ckpt.meta)
        assert checkpoint_selection(ckpt.meta).voice == ("first" if name == "workshop" else "soprano")
        assert ckpt.path.stat().st_size < 3_000_000  # small enough to ship in the repository


@pytest.mark.slow
def test_shipped_models_reach_the_quality_targets_on_the_real_test_split():
    from bachlstm.training.evaluation import evaluate

    bach = evaluate(load_checkpoint("bach"), "test")
    assert bach["perplexity"] <= 7.0 and bach["top1"] >= 0.45 and bach["top5"] >= 0.80
    assert bach["perplexity"] == pytest.approx(load_checkpoint("bach").meta["metrics"]["test_perplexity"])
    assert evaluate(load_checkpoint("workshop"), "test")["top1"] >= 0.72
    chorale = evaluate(load_checkpoint("chorale"), "test")
    assert chorale["perplexity"] <= 7.0 and chorale["top1"] >= 0.45
    # measured 2.03 (checkpoints/README.md); the published best, 1.911, is not reached
    assert chorale["pitch_bits_given_duration"] < 2.1
    assert chorale["pitch_bits_given_duration"] == pytest.approx(
        load_checkpoint("chorale").meta["metrics"]["test_pitch_bits_given_duration"]
    )


def test_listing_and_metadata_do_not_import_torch():
    """Home lists checkpoints without paying for torch's import (~1 s on a laptop)."""
    import subprocess
    import sys

    code = (
        "import sys; from bachlstm.model.checkpoints import list_checkpoints, read_meta; "
        "infos = list_checkpoints(); read_meta('bach'); "
        "assert infos and 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
