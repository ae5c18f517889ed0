"""Surprise, unit probes and the embedding view on tiny models with known answers; the inspect command."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from bachlstm.analysis.activations import record_activations
from bachlstm.analysis.embeddings import embedding_view, nearest_tokens, pca, token_table
from bachlstm.analysis.probes import (
    best_units,
    melody_correlations,
    pearson,
    pooled_correlations,
    unit_correlations,
)
from bachlstm.analysis.surprise import extremes, melody_surprise
from bachlstm.model.lstm import LSTMModel, ModelConfig
from bachlstm.music.events import Melody
from bachlstm.reports.inspection import find_melody, inspect_melody, inspection_json
from bachlstm.tokens.timeline import melody_timeline
from bachlstm.tokens.tokenizers import PAD, build_tokenizer
from tests.builders import EVENTS, MELODY, Ckpt, inspection_model, note

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is fastest


# ---------------------------------------------------------------- surprise


@pytest.mark.parametrize("kind", ["factored", "event"])
def test_note_bits_are_minus_log2_of_the_models_probability_of_the_note(kind):
    model, tok = inspection_model(kind)
    tl = melody_timeline(tok, EVENTS)
    surprise = melody_surprise(record_activations(model, tl.ids[:-1]).logits, tl, tok.vocab)
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor([tl.ids[:-1]]))[0][0].double(), -1).numpy()  # (T, V)
    ids, owner = tl.ids, tl.token_event
    for k in range(len(EVENTS)):
        # The probability of the whole note: the product of its tokens' probabilities (chain rule).
        p_note = math.prod(probs[t - 1, ids[t]] for t in range(1, len(ids)) if owner[t] == k)
        assert surprise.notes.bits[k] == pytest.approx(-math.log2(p_note), rel=1e-5)
    nll_bits = -sum(math.log2(probs[t - 1, ids[t]]) for t in range(1, len(ids)))
    assert surprise.total_bits == pytest.approx(nll_bits, rel=1e-5)
    assert surprise.mean_bits == pytest.approx(surprise.notes.bits.mean())
    expected_tokens = {"factored": 5, "event": 1}[kind]
    assert surprise.notes.n_tokens[0] == expected_tokens
    if kind == "event":  # bar lines and the end carry the rest of the bits; the tied A4 has its TIE
        assert surprise.notes.n_tokens.tolist() == [1, 1, 1, 2, 1, 1, 1]
        assert surprise.structure_bits > 0


def test_extremes_lists_the_most_and_least_surprising_notes():
    model, tok = inspection_model("event", seed=4)
    ins = inspect_melody(Ckpt(model, tok), EVENTS)
    most, least = extremes(ins.surprise, n=3)
    bits = ins.surprise.notes.bits
    assert most.bits.tolist() == sorted(bits, reverse=True)[:3]
    assert least.bits.tolist() == sorted(bits)[:3]


# ---------------------------------------------------------------- probes


def test_pearson_exact_values_and_constant_columns():
    x = np.array([[1.0, 5.0, 2.0], [2.0, 5.0, 4.0], [3.0, 5.0, 1.0]])
    r = pearson(x, np.array([1.0, 2.0, 3.0]))
    assert r[0] == pytest.approx(1.0) and np.isnan(r[1]) and r[2] == pytest.approx(-3 / math.sqrt(84))


def scale_melody(n_bars: int = 8) -> Melody:
    """Up and down the C major scale with mixed durations: pitch and duration vary independently."""
    names = [("C", 4), ("D", 4), ("E", 4), ("F", 4), ("G", 4), ("A", 4), ("B", 4), ("C", 5)]
    rhythms = [(1.0, 1.0, 2.0), (0.5, 0.5, 1.0, 2.0), (2.0, 1.0, 0.5, 0.5), (1.0, 1.0, 1.0, 1.0)]
    events, k = [], 0
    for bar in range(n_bars):
        beat = 1.0
        for ql in rhythms[bar % len(rhythms)]:
            pitch, octave = names[(3 * k) % len(names)]
            events.append(note(pitch, octave, ql, bar + 1, beat))
            beat, k = beat + ql, k + 1
    return Melody("scale", "soprano", tuple(events))


def planted_model():
    """An event-token model whose unit 0 follows pitch height and unit 1 duration; units 2-7 random.

    Embedding dim 0 = (midi - 66) / 6 and dim 1 = log2(duration) / 2 for note tokens. Unit 0's input
    gate and output gate are held open and its forget gate shut (big biases), so c_0 = tanh(w * x_0)
    each step: a monotone function of the note just read. Unit 1 does the same with x_1.
    """
    melody = scale_melody()
    tok = build_tokenizer("event", [melody])
    torch.manual_seed(0)
    model = LSTMModel(
        ModelConfig(vocab_size=len(tok.vocab), embedding_dim=2, lstm_sizes=(8,), dropouts=(0.0,))
    )
    table = token_table(tok)
    with torch.no_grad():
        emb = torch.zeros(len(tok.vocab), 2)
        for row in table.itertuples():
            if row.type == "note":
                e = tok.decode([row.id]).events[0]
                emb[row.id] = torch.tensor([(e.midi - 66) / 6, math.log2(e.quarter_length) / 2])
        model.embedding.weight.copy_(emb)
        lstm, n = model.lstms[0], 8
        for unit, dim in ((0, 0), (1, 1)):
            for gate in range(4):
                lstm.weight_hh_l0[gate * n + unit] = 0.0
                lstm.weight_ih_l0[gate * n + unit] = 0.0
            lstm.bias_ih_l0[[unit, n + unit, 2 * n + unit, 3 * n + unit]] = torch.tensor(
                [20.0, -20.0, 0.0, 20.0]
            )
            lstm.bias_hh_l0[[unit, n + unit, 2 * n + unit, 3 * n + unit]] = 0.0
            lstm.weight_ih_l0[2 * n + unit, dim] = 1.0
    return Ckpt(model.eval(), tok), melody


def test_the_probe_finds_the_planted_units():
    ckpt, melody = planted_model()
    ins = inspect_melody(ckpt, melody)
    best = best_units(ins.units, per_feature=1).set_index("feature")
    assert (best.loc["pitch_height", "layer"], best.loc["pitch_height", "unit"]) == (0, 0)
    assert (best.loc["duration", "layer"], best.loc["duration", "unit"]) == (0, 1)
    assert best.loc["pitch_height", "r"] > 0.98 and best.loc["duration", "r"] > 0.95
    assert best.loc["pitch_height", "n"] == len(melody.events)
    # Ranked: within each feature |r| never rises.
    for _, group in ins.units.groupby("feature", sort=False):
        assert (np.diff(group.abs_r.fillna(-1).to_numpy()) <= 1e-12).all()


def test_correlations_skip_constant_and_undefined_features():
    notes = pd.DataFrame({"duration": [1.0, 1.0, 1.0], "pitch_height": [60.0, np.nan, 62.0]})
    states = {"hidden": [np.array([[0.1], [0.2], [0.3]])]}
    assert unit_correlations(states, notes, ["duration", "pitch_height"]).empty  # constant; only 2 pitches
    ckpt, melody = planted_model()
    ins = inspect_melody(ckpt, melody)
    assert set(melody_correlations(ins.activations, ins.timeline).signal) == {"hidden", "cell"}


def test_pooling_two_melodies_equals_one_melody_twice():
    ckpt, melody = planted_model()
    ins = inspect_melody(ckpt, melody)
    pair = (ins.activations, ins.timeline)
    pooled = pooled_correlations([pair, pair])
    single = melody_correlations(*pair)
    np.testing.assert_allclose(pooled.r.to_numpy(), single.r.to_numpy(), atol=1e-9)
    assert (pooled.n == 2 * single.n).all()
    with pytest.raises(ValueError, match="no melodies"):
        pooled_correlations([])


# ---------------------------------------------------------------- embedding


def test_three_dims_are_drawn_directly_and_pad_is_left_out():
    model, tok = inspection_model("event", embedding_dim=3)
    with torch.no_grad():
        model.embedding.weight.copy_(torch.arange(len(tok.vocab) * 3, dtype=torch.float32).reshape(-1, 3))
    view = embedding_view(model, tok)
    assert view.method == "direct" and view.dims == 3
    assert PAD not in view.frame.id.tolist()
    row = view.frame.set_index("token").loc["C5_2"]
    i = tok.index["C5_2"]
    assert (row.x, row.y, row.z) == (3 * i, 3 * i + 1, 3 * i + 2)
    assert (row.type, row.pitch_class, row.octave, row.duration) == ("note", "C", 5, 2.0)
    assert sum(view.explained) == pytest.approx(1.0)


def test_pca_on_a_line_and_against_numpy_svd():
    t = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    points = t[:, None] * np.array([1.0, 2.0, 0.0, 0.0]) + np.array([5.0, 5.0, 5.0, 5.0])
    coords, explained = pca(points, 2)
    np.testing.assert_allclose(coords[:, 0], t * math.sqrt(5), atol=1e-12)
    np.testing.assert_allclose(coords[:, 1], 0.0, atol=1e-12)
    assert explained[0] == pytest.approx(1.0)
    x = np.random.default_rng(0).normal(size=(30, 6))
    coords, explained = pca(x, 2)
    xc = x - x.mean(0)
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    np.testing.assert_allclose(np.abs(coords), np.abs(u[:, :2] * s[:2]), atol=1e-10)
    np.testing.assert_allclose(explained, s[:2] ** 2 / (s**2).sum())


def test_wide_embeddings_are_projected_by_pca():
    model, tok = inspection_model("factored", embedding_dim=8)
    view = embedding_view(model, tok)
    assert view.method == "pca" and {"x", "y"} <= set(view.frame) and "z" not in view.frame
    assert 0 < view.explained[1] <= view.explained[0] < 1
    factored = token_table(tok).set_index("token")
    assert factored.loc["B", "pitch_class"] == "B" and factored.loc["o5", "octave"] == 5
    assert factored.loc["half", "duration"] == 2.0 and factored.loc["half", "type"] == "duration"


def test_nearest_tokens_by_cosine():
    model, tok = inspection_model("event", embedding_dim=2)
    weights = torch.zeros(len(tok.vocab), 2)
    weights[:, 0] = 1.0  # every token along x ...
    a, b, c = tok.index["C5_2"], tok.index["B4_1"], tok.index["G4_2"]
    weights[a] = torch.tensor([0.0, 2.0])  # ... except: a up, b diagonal (cos 0.707), c down (cos -1)
    weights[b] = torch.tensor([1.0, 1.0])
    weights[c] = torch.tensor([0.0, -1.0])
    with torch.no_grad():
        model.embedding.weight.copy_(weights)
    near = nearest_tokens(model, tok, "C5_2", k=len(tok.vocab))
    assert near.token.iat[0] == "B4_1" and near.similarity.iat[0] == pytest.approx(math.sqrt(0.5))
    assert near.token.iat[-1] == "G4_2" and near.similarity.iat[-1] == pytest.approx(-1.0)
    assert "C5_2" not in near.token.tolist() and "<pad>" not in near.token.tolist()
    assert len(near) == len(tok.vocab) - 2
    with pytest.raises(ValueError, match="not a token"):
        nearest_tokens(model, tok, "H9_1")


# ---------------------------------------------------------------- whole inspection and JSON


def test_inspection_json_is_plain_json():
    model, tok = inspection_model("event", embedding_dim=3)
    ins = inspect_melody(Ckpt(model, tok), EVENTS, "tiny")
    out = json.loads(json.dumps(inspection_json(ins, embedding_view(model, tok), per_feature=2)))
    assert [row["name"] for row in out["surprise"]] == ["G4", "C5", "B4", "A4", "A4", "rest", "G4"]
    assert all(row["bits"] > 0 for row in out["surprise"])
    assert out["mean_bits_per_note"] == pytest.approx(np.mean([r["bits"] for r in out["surprise"]]))
    assert {row["feature"] for row in out["units"]} <= {
        "position_in_bar", "beat_strength", "pitch_height", "duration", "distance_to_end"
    }  # fmt: skip
    assert out["embedding"]["method"] == "direct" and len(out["embedding"]["points"]) == len(tok.vocab) - 1


# ---------------------------------------------------------------- finding a melody and the command line


def test_find_melody_by_chorale_id_says_which_split():
    other = Melody("a", "soprano", EVENTS[:3])
    ckpt = Ckpt(*inspection_model("event"))
    ckpt.meta = {"split": {"train": ["a:soprano"], "val": [], "test": ["m:soprano"]}}
    events, label = find_melody(ckpt, "m", melodies=[MELODY, other])
    assert events == list(EVENTS) and label == "m (soprano, test split)"
    assert find_melody(ckpt, "a:soprano", melodies=[MELODY, other])[1] == "a (soprano, train split)"
    with pytest.raises(ValueError, match="neither a file nor a chorale id of this model's melodies"):
        find_melody(ckpt, "bwv999", melodies=[MELODY, other])


def test_find_melody_defaults_to_the_first_held_out_sung_melody_line():
    trumpet = Melody("t", "Trumpet 1", EVENTS[:3])  # a first part that plays the tune with bars of rests
    ckpt = Ckpt(*inspection_model("event"))
    ckpt.meta = {"split": {"train": [], "val": [], "test": ["t:Trumpet 1", "m:soprano"]}}
    events, label = find_melody(ckpt, melodies=[trumpet, MELODY])
    assert events == list(EVENTS) and label == "m (soprano, test split, the first held-out melody line)"


def test_cli_inspect_json_for_a_midi_file(tmp_path, capsys):
    from bachlstm.cli import main
    from bachlstm.music.scores import to_midi

    path = tmp_path / "tune.mid"
    path.write_bytes(to_midi(list(EVENTS)))
    assert main(["inspect", "--checkpoint", "workshop", "--melody", str(path), "--json", "--units", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["melody"].startswith("tune.mid") and out["n_events"] == len(out["surprise"])
    assert [r["name"] for r in out["surprise"] if r["name"] != "rest"][:3] == ["G4", "C5", "B4"]
    assert all(r["bits"] >= 0 for r in out["surprise"]) and out["n_unknown"] == 0
    per_feature = pd.DataFrame(out["units"]).groupby("feature").size()
    assert (per_feature <= 2).all() and len(per_feature) >= 3
    emb = out["embedding"]
    assert emb["method"] == "direct" and emb["dims"] == 3 and {"x", "y", "z"} <= set(emb["points"][0])


def test_cli_inspect_takes_the_melody_as_an_argument_or_defaults_to_the_first_held_out(tmp_path, capsys):
    """The new-user trial: `inspect --checkpoint workshop x.mid` failed (only --melody worked)."""
    from bachlstm.cli import main
    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.music.scores import to_midi
    from bachlstm.training.splits import split_melodies

    path = tmp_path / "tune.mid"
    path.write_bytes(to_midi(list(EVENTS)))
    assert main(["inspect", "--checkpoint", "workshop", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["melody"].startswith("tune.mid")
    first = split_melodies(load_checkpoint("workshop").meta)["test"][0]
    assert main(["inspect", "--checkpoint", "workshop", "--json"]) == 0  # no melody: the page's default
    assert json.loads(capsys.readouterr().out)["melody"].startswith(f"{first.piece_id} ({first.voice}, test")
    with pytest.raises(SystemExit) as exc:
        main(["inspect", "--checkpoint", "workshop", str(path), "--melody", "bwv66.6"])
    assert exc.value.code == 2 and "two melodies given" in capsys.readouterr().err


def test_cli_inspect_help_says_what_it_picks(capsys):
    from bachlstm.cli import main

    with pytest.raises(SystemExit):
        main(["inspect", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "ID|FILE" in out and "the model's first held-out melody line" in out and "the whole file" in out


def test_cli_inspect_refuses_bad_input(tmp_path):
    from bachlstm.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["inspect", "--checkpoint", "workshop", "--melody", "tune.mid", "--units", "0"])
    assert exc.value.code == 2


@pytest.mark.slow
def test_cli_inspect_a_held_out_chorale(capsys):
    from bachlstm.cli import main
    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.training.splits import split_melodies

    piece = split_melodies(load_checkpoint("bach").meta)["test"][0].piece_id
    assert main(["inspect", "--checkpoint", "bach", "--melody", piece]) == 0
    out = capsys.readouterr().out
    assert f"{piece} (soprano, test split)" in out and "bits per note" in out
    assert "position_in_bar: layer 1" in out and "projected by PCA" in out


@pytest.mark.slow
def test_surprise_over_the_test_split_agrees_with_the_evaluation():
    """Two code paths, one number: every token's bits over the held-out melodies sum to evaluate()'s
    cross-entropy (nats per token x tokens / ln 2)."""
    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.training.evaluation import evaluate
    from bachlstm.training.splits import split_melodies

    ckpt = load_checkpoint("workshop")
    test = split_melodies(ckpt.meta)["test"]
    bits = sum(inspect_melody(ckpt, m.events).surprise.total_bits for m in test)
    result = evaluate(ckpt, "test", melodies=[m for part in split_melodies(ckpt.meta).values() for m in part])
    assert bits == pytest.approx(result["loss"] * result["n_tokens"] / math.log(2), rel=1e-4)


def test_a_melody_too_long_to_show_is_refused_with_its_code():
    from bachlstm.reports.inspection import MAX_EVENTS, InspectionError

    with pytest.raises(InspectionError) as caught:
        inspect_melody(None, [None] * (MAX_EVENTS + 1))  # refused before the model is touched
    assert (caught.value.code, caught.value.values) == ("too_long", {"events": 513, "max": 512})
    assert str(caught.value) == "the melody has 513 notes and rests; the page shows at most 512"
