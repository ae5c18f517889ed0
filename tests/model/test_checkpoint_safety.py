"""Hostile headers, honest listing, outputs that never lose a saved model, stale temp files, fast Stop."""

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save

from bachlstm.model import checkpoints
from bachlstm.model import lstm as model
from bachlstm.model.checkpoints import (
    CheckpointError,
    checkpoint_info,
    list_checkpoints,
    load_checkpoint,
    read_meta,
    save_checkpoint,
    validate_name,
    validate_run_name,
)
from bachlstm.model.lstm import LSTMModel, ModelConfig
from bachlstm.training.loop import TrainingStopped, train
from bachlstm.training.presets import get_preset
from bachlstm.training.run_files import check_out, remove_stale_temp_files, save_best, staging_path
from tests.builders import ROOT, short_melody

BACH = ROOT / "checkpoints" / "bach.safetensors"


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("BACHLSTM_CHECKPOINTS_DIR", str(tmp_path / "none"))
    return tmp_path


def small_model(tokenizer, sizes=(8,)) -> LSTMModel:
    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=len(tokenizer.vocab), embedding_dim=4, lstm_sizes=sizes, dropouts=(0.0,) * len(sizes)
    )
    return LSTMModel(config).eval()


def rewrite(path, tensors, meta):
    header = {"format": "bachlstm-checkpoint", "format_version": "1", "bachlstm": json.dumps(meta)}
    path.write_bytes(st_save(tensors, metadata=header))


def hostile_copy_of_bach(path: Path) -> Path:
    """bach's tensors under a header that claims 8 layers of 4096 units and a 4096 hidden layer."""
    from safetensors.torch import load_file

    meta = read_meta(BACH)
    meta["model_config"].update(lstm_sizes=[4096] * 8, dropouts=[0.0] * 8, hidden_linear=4096)
    rewrite(path, load_file(BACH), meta)
    return path


@pytest.fixture
def no_model_built(monkeypatch):
    built = []
    original = LSTMModel.__init__

    def spy(self, config):
        built.append(config)
        original(self, config)

    monkeypatch.setattr(model.LSTMModel, "__init__", spy)
    return built


# --- loading validates before allocating -----------------------------------------------------------


def test_hostile_header_is_refused_before_the_model_is_built(runs, no_model_built):
    path = hostile_copy_of_bach(runs / "hostile.safetensors")
    with pytest.raises(CheckpointError, match=r"^hostile: the model has [\d,]+ parameters") as caught:
        load_checkpoint("hostile")
    assert no_model_built == []
    assert (caught.value.code, caught.value.values["limit"]) == ("too_large", 2048)  # a page words these
    info = checkpoint_info(path)
    assert info.status == "broken" and "BACHLSTM_MAX_TRAIN_MB" in info.error
    assert (info.error_code, info.error_values) == ("too_large", caught.value.values)


def test_wrong_shapes_within_the_limit_are_refused_before_the_model_is_built(runs, tokenizer, no_model_built):
    path = save_checkpoint(runs / "m.safetensors", small_model(tokenizer), tokenizer)
    no_model_built.clear()
    meta = read_meta(path)
    meta["model_config"]["lstm_sizes"] = [16]
    from safetensors.torch import load_file

    rewrite(path, load_file(path), meta)
    with pytest.raises(CheckpointError, match="lstms.0.weight_ih_l0 has shape"):
        load_checkpoint("m")
    assert no_model_built == []


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="reads Linux's /proc")
def test_hostile_header_costs_no_more_than_the_file(tmp_path):
    """In a fresh process: peak memory added by the refused load stays within file size + 50 MB."""
    path = hostile_copy_of_bach(tmp_path / "hostile.safetensors")
    code = f"""
import torch
from bachlstm.model.checkpoints import CheckpointError, load_checkpoint
def status(key):
    return next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith(key)) / 1024
open("/proc/self/clear_refs", "w").write("5")  # resets the peak (VmHWM) to the present size
before = status("VmRSS")
try:
    load_checkpoint({str(path)!r})
except CheckpointError:
    pass
print(status("VmHWM") - before)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert float(out.stdout) < path.stat().st_size / 2**20 + 50


def test_a_header_declaring_huge_tensors_over_few_bytes_is_refused(runs):
    header = json.dumps({"w": {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 8]}}).encode()
    path = runs / "huge.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 8)
    with pytest.raises(CheckpointError, match="corrupt safetensors header"):
        load_checkpoint("huge")


# --- honest listing ------------------------------------------------------------------------------


def _variants(runs, tokenizer):
    from safetensors.torch import load_file

    good = save_checkpoint(runs / "good.safetensors", small_model(tokenizer), tokenizer, {"complete": True})
    weights = load_file(good)
    meta = read_meta(good)
    bad_config = dict(meta, model_config={**meta["model_config"], "lstm_sizes": "wide"})
    rewrite(runs / "bad-config.safetensors", weights, bad_config)
    shapes = dict(meta, model_config={**meta["model_config"], "embedding_dim": 5})
    rewrite(runs / "wrong-shapes.safetensors", weights, shapes)
    nan_model = small_model(tokenizer)
    with torch.no_grad():
        nan_model.out.bias[0] = math.nan
    save_checkpoint(runs / "nan.safetensors", nan_model, tokenizer)  # a correct checksum over NaN
    data = bytearray(good.read_bytes())
    data[-3] ^= 0xFF
    (runs / "bit-flip.safetensors").write_bytes(bytes(data))
    planned = {"preset_config": {"train": {"epochs": 45}}}
    stopped = {"complete": True, "stopped": True, "epoch": 5, **planned}
    save_checkpoint(runs / "stopped.safetensors", small_model(tokenizer), tokenizer, stopped)
    interrupted = {
        "complete": False,
        "stopped": False,
        "epoch": 5,
        "preset_config": {"train": {"epochs": 45}},
    }
    save_checkpoint(runs / "interrupted.safetensors", small_model(tokenizer), tokenizer, interrupted)
    os.mkfifo(runs / "fifo.safetensors")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_listing_marks_every_kind_without_opening_a_fifo(runs, tokenizer):
    _variants(runs, tokenizer)
    result = []
    worker = threading.Thread(target=lambda: result.append(list_checkpoints()), daemon=True)
    worker.start()
    worker.join(20)
    assert result, "listing hung (a FIFO was opened?)"
    infos = {i.name: i for i in result[0]}
    assert infos["good"].status == "complete" and infos["good"].state == "complete"
    assert infos["stopped"].state == "stopped at epoch 5 of 45" and infos["stopped"].resumable
    assert infos["interrupted"].state == "interrupted at epoch 5 of 45" and infos["interrupted"].resumable
    assert infos["fifo"].status == "skipped" and "never opened" in infos["fifo"].error
    expected = {
        "bad-config": "invalid model config",
        "wrong-shapes": "embedding.weight has shape",
        "nan": "NaN",
        "bit-flip": "checksum",
    }
    for name, reason in expected.items():
        assert infos[name].status == "broken" and reason in infos[name].error, (name, infos[name].error)
        assert str(runs) not in infos[name].error
        # what the listing calls usable loads, and what it calls broken does not
        with pytest.raises(CheckpointError):
            load_checkpoint(name)
    load_checkpoint("good")


def test_listing_is_cached_by_file_and_modification_time(runs, tokenizer, monkeypatch):
    path = save_checkpoint(runs / "a.safetensors", small_model(tokenizer), tokenizer)
    calls = []
    real = checkpoints.verify_content
    monkeypatch.setattr(checkpoints, "verify_content", lambda *a: (calls.append(1), real(*a)))
    list_checkpoints()
    list_checkpoints()
    assert len(calls) == 1
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert list_checkpoints()[0].status == "broken" and len(calls) == 2


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["con", "CON", "Prn.txt", "aux", "nul.safetensors", "com1", "COM9.x", "lpt5"]
)
def test_windows_device_names_are_not_run_names(name):
    with pytest.raises(CheckpointError, match="Windows reserves"):
        validate_name(name)
    with pytest.raises(CheckpointError, match="Windows reserves"):
        validate_run_name(name)


@pytest.mark.parametrize("name", ["console", "com10", "lpt0", "my-con", "nully"])
def test_names_that_only_resemble_devices_are_fine(name):
    assert validate_name(name) == name == validate_run_name(name)


# --- nothing saved is lost -----------------------------------------------------------------------


def test_out_over_an_existing_checkpoint_is_refused_without_overwrite(runs, tokenizer):
    path = save_checkpoint(runs / "mine.safetensors", small_model(tokenizer), tokenizer)
    with pytest.raises(CheckpointError, match="'mine' already exists.*--overwrite") as err:
        check_out(path)
    assert str(runs) not in str(err.value)
    assert check_out(path, overwrite=True) == path
    assert check_out(path, resume=path) == path  # continuing a run writes to its own file
    text = runs / "notes.safetensors"
    text.write_text("my notes")
    with pytest.raises(CheckpointError, match="never overwritten"):
        check_out(text, overwrite=True)


def test_cli_refuses_out_over_an_existing_file(runs, tokenizer):
    path = save_checkpoint(runs / "mine.safetensors", small_model(tokenizer), tokenizer)
    before = path.read_bytes()
    text = runs / "notes.txt"
    text.write_text("keep me")
    for args in (["--out", str(path)], ["--out", "mine"], ["--out", str(text), "--overwrite"]):
        cmd = [sys.executable, "-m", "bachlstm", "train", "--max-steps", "1", "--quiet", *args]
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ})
        assert out.returncode == 2 and ("already exists" in out.stderr or "never overwritten" in out.stderr)
        assert str(runs) not in out.stderr or str(text) in args
    assert path.read_bytes() == before and text.read_text() == "keep me"


def test_save_best_keeps_a_better_target_and_stages_next_to_it(runs, tokenizer):
    target = save_checkpoint(
        runs / "t.safetensors", small_model(tokenizer), tokenizer, {"metrics": {"val_loss": 1.0}}
    )
    before = target.read_bytes()

    def write(meta):
        return lambda p: save_checkpoint(p, small_model(tokenizer, (4,)), tokenizer, meta)

    assert save_best(target, write({"metrics": {"val_loss": 2.0}}), 2.0, complete=False) == staging_path(
        target
    )
    assert target.read_bytes() == before and staging_path(target).exists()
    assert save_best(target, write({"metrics": {"val_loss": 0.5}}), 0.5, complete=False) == target
    assert target.read_bytes() != before and not staging_path(target).exists()
    assert save_best(target, write({"metrics": {"val_loss": 9.0}}), 9.0, complete=True) == target


def test_a_run_that_dies_after_its_first_epoch_leaves_the_complete_model_in_place(runs, tokenizer):
    data = [short_melody(i) for i in range(12)]
    preset = get_preset("workshop", epochs=3, batch_size=4, lstm_sizes=(8,), hidden_linear=None)
    target = runs / "done.safetensors"
    train(preset, out=target, data=data)
    # Make the saved run unbeatable, as a long complete run would be.
    meta = read_meta(target)
    meta["metrics"]["val_loss"] = 0.0
    ck = load_checkpoint(target)
    save_checkpoint(target, ck.model, ck.tokenizer, meta)
    before = target.read_bytes()

    def die_after_epoch(p):
        if p.kind == "epoch":
            raise KeyboardInterrupt  # the process ends here, as with kill after the first epoch

    with pytest.raises(KeyboardInterrupt):
        train(
            get_preset("workshop", epochs=45), out=target, overwrite=True, data=data, callback=die_after_epoch
        )
    assert target.read_bytes() == before
    partial = {i.name: i for i in list_checkpoints()}["done.partial"]
    assert partial.state == "interrupted at epoch 1 of 45"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_kill_during_a_write_then_a_start_removes_the_temp_file(runs, tokenizer):
    """A child killed with SIGKILL in the middle of save_checkpoint; the next training start cleans up."""
    code = f"""
import os, time, torch
from bachlstm.model.checkpoints import save_checkpoint
from bachlstm.model.lstm import LSTMModel, ModelConfig
from bachlstm.tokens.tokenizers import build_tokenizer
from bachlstm.music.events import Event, Melody
os.fsync = lambda fd: (print("writing", flush=True), time.sleep(60))  # hold the write open
mel = Melody("p", "soprano", (Event("note", 1.0, "quarter", 0, "C", 4, 60, measure=1),), tune="t")
tok = build_tokenizer("event", [mel])
m = LSTMModel(ModelConfig(vocab_size=len(tok.vocab), embedding_dim=4, lstm_sizes=(8,), dropouts=(0.0,)))
save_checkpoint({str(runs / "victim.safetensors")!r}, m, tok)
"""
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "writing"
    child.send_signal(signal.SIGKILL)
    child.wait()
    temps = [p for p in runs.iterdir() if p.name.endswith(".tmp")]
    assert [p.name for p in temps] == [f".victim.safetensors.{child.pid}.tmp"]
    live = runs / f".other.safetensors.{os.getpid()}.tmp"  # a write in progress in a live process
    live.write_bytes(b"x")
    data = [short_melody(i) for i in range(6)]
    train(get_preset("workshop", epochs=1, lstm_sizes=(4,), hidden_linear=None), out=runs / "next", data=data)
    assert not temps[0].exists() and live.exists()
    assert remove_stale_temp_files([runs]) == []


def test_stale_temp_files_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    dead = tmp_path / f".x.safetensors.{_dead_pid()}.tmp"
    dead.write_bytes(b"half")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        alive = tmp_path / f".y.safetensors.{sleeper.pid}.tmp"
        alive.write_bytes(b"half")
        assert remove_stale_temp_files([tmp_path]) == [dead]
        assert alive.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


# --- Stop within a second ------------------------------------------------------------------------


@pytest.mark.parametrize("delay", [0.05, 0.4, 0.9], ids=["corpus", "tokenizer", "windows"])
def test_stop_during_data_preparation_ends_within_a_second(tmp_path, delay):
    stop = threading.Event()
    outcome = []

    def run():
        try:
            outcome.append(train(get_preset("bach"), stop_event=stop, out=tmp_path / "x.safetensors"))
        except TrainingStopped as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    time.sleep(delay)
    stopped_at = time.perf_counter()
    stop.set()
    worker.join(10)
    took = time.perf_counter() - stopped_at
    assert outcome, "train() neither returned nor raised TrainingStopped"
    assert isinstance(outcome[0], TrainingStopped) or outcome[0].stopped
    assert took < 1.0, f"Stop took {took:.2f} s"
