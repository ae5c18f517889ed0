"""Generation: one batch for all rows, determinism, 100% valid decoding under the mask, primers, modes."""

import threading
from pathlib import Path

import pytest
import torch

from bachlstm.durations import duration_type_of
from bachlstm.events import Event, Melody
from bachlstm.generation import (
    Generation,
    generate,
    row_seed,
    validity_report,
)
from bachlstm.grammar import build_grammar, grammar_of
from bachlstm.model import FastStep, LSTMModel, ModelConfig
from bachlstm.pitches import midi_of, transpose
from bachlstm.primer import PrimerError, encode_primer, fit_primer, primer_from_melody, read_primer
from bachlstm.sampling import SamplingConfig, default_configs
from bachlstm.tokens import BOS, EOS, build_tokenizer

CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is fastest


def note(pitch, octave, ql, measure, tie=None):
    dtype, dots = duration_type_of(ql)
    return Event("note", ql, dtype, dots, pitch, octave, midi_of(pitch, octave), tie, measure)


def rest(ql, measure):
    return Event("rest", ql, *duration_type_of(ql), measure=measure)


# Two tiny 4/4 melodies: a pickup, dotted values, a rest, a tie across a bar line.
MELODIES = [
    Melody(
        "a",
        "soprano",
        (
            note("G", 4, 1.0, 0),
            note("C", 5, 1.5, 1), note("B", 4, 0.5, 1), note("A", 4, 1.0, 1), note("G", 4, 1.0, 1),
            note("E", 4, 2.0, 2), rest(1.0, 2), note("F#", 4, 1.0, 2, "start"),
            note("F#", 4, 1.0, 3, "stop"), note("G", 4, 2.0, 3), note("D", 5, 0.5, 3), note("C", 5, 0.5, 3),
        ),
    ),
    Melody(
        "b",
        "soprano",
        (
            note("E", 4, 4.0, 1),
            note("D", 4, 0.5, 2), note("E", 4, 0.5, 2), note("F", 4, 1.0, 2), note("G", 4, 2.0, 2),
            note("A", 4, 1.0, 3), rest(0.5, 3), note("B-", 4, 0.5, 3), note("C", 5, 2.0, 3),
        ),
    ),
]  # fmt: skip

TOKENIZERS = {
    "factored": ("factored", {}),
    "factored-rest": ("factored", {"rest_marker": True}),
    "event-bars-ties": ("event", {}),
    "event-plain": ("event", {"bar_tokens": False, "ties": False}),
}


def tiny(name="event-bars-ties", seed=0):
    kind, options = TOKENIZERS[name]
    tok = build_tokenizer(kind, MELODIES, **options)
    torch.manual_seed(seed)
    model = LSTMModel(
        ModelConfig(vocab_size=len(tok.vocab), embedding_dim=8, lstm_sizes=(16,), dropouts=(0.0,))
    )
    return model, tok


class CountingModel(torch.nn.Module):
    """Wraps a model and counts forward passes (not an LSTMModel, so generation uses its `step`)."""

    calls = 0

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x, hidden=None):
        CountingModel.calls += 1
        return self.inner(x, hidden)

    def step(self, tokens, hidden):
        logits, hidden = self.forward(tokens[:, None], hidden)
        return logits[:, 0], hidden


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
def test_masked_generation_is_always_valid(name):
    model, tok = tiny(name)
    grammar = build_grammar(tok)
    configs = [*default_configs(), SamplingConfig("temperature", temperature=3.0)]
    gens = generate(model, configs, tokenizer=tok, length=60, samples=8, seed=5)
    assert len(gens) == 40
    total_groups = 0
    for g in gens:
        assert g.n_invalid == 0 and g.validity == 1.0, g.label
        assert grammar.first_violation(g.full_tokens) is None
        state = grammar.initial_state()
        for t in g.full_tokens[1:]:
            state = grammar.advance(state, t)
        assert grammar.is_complete(state), g.label  # whole notes (and whole bars with bar tokens)
        assert len(g.tokens) <= 60
        total_groups += g.n_groups
    assert total_groups > 100


def test_bar_tokens_give_whole_four_four_bars():
    model, tok = tiny("event-bars-ties")
    for g in generate(model, default_configs(), tokenizer=tok, length=80, samples=4, seed=2):
        bars: dict[int, float] = {}
        for e in g.events:
            bars[e.measure] = bars.get(e.measure, 0.0) + e.quarter_length
        full = [m for m in bars if m >= 1]
        # Every bar after the (optional) pickup is 4 quarters, except a closing bar completing the pickup.
        pickup = bars.get(0, 0.0)
        assert all(bars[m] == 4.0 or (m == max(full) and bars[m] == 4.0 - pickup) for m in full), bars


def test_unmasked_decoding_has_invalid_groups_and_the_mask_removes_them():
    model, tok = tiny("factored")
    report = validity_report(model, default_configs(), tokenizer=tok, length=60, samples=4, seed=0)
    assert [r["method"] for r in report] == [c.label for c in default_configs()]
    assert all(r["invalid_masked"] == 0.0 for r in report)
    assert any(r["invalid_unmasked"] > 0.2 for r in report)


def test_same_seed_same_output_and_seeds_differ():
    model, tok = tiny()
    cfgs = [SamplingConfig("top-p", p=0.95), SamplingConfig("temperature", temperature=1.5)]
    a = generate(model, cfgs, tokenizer=tok, length=40, samples=3, seed=11)
    b = generate(model, cfgs, tokenizer=tok, length=40, samples=3, seed=11)
    c = generate(model, cfgs, tokenizer=tok, length=40, samples=3, seed=12)
    assert [g.tokens for g in a] == [g.tokens for g in b]
    assert [g.tokens for g in a] != [g.tokens for g in c]
    # Samples of one config differ from each other.
    assert len({tuple(g.tokens) for g in a[3:]}) > 1
    assert [(g.config, g.sample) for g in a] == [
        (cfgs[0], 0),
        (cfgs[0], 1),
        (cfgs[0], 2),
        (cfgs[1], 0),
        (cfgs[1], 1),
        (cfgs[1], 2),
    ]


def test_row_seed_is_stable_and_differs_by_config():
    assert row_seed(0, 0) == row_seed(0, 0) == 2968811710
    assert row_seed(0, 0, SamplingConfig("top-p")) == row_seed(0, 0, SamplingConfig("top-p"))
    assert row_seed(0, 0, SamplingConfig("top-p")) != row_seed(0, 0, SamplingConfig("temperature"))
    assert len({row_seed(s, i) for s in range(5) for i in range(5)}) == 25


def test_a_configs_melodies_do_not_depend_on_the_other_rows():
    model, tok = tiny()
    cfg = SamplingConfig("temperature", temperature=1.2)
    together = generate(
        model, [SamplingConfig("top-k", k=3), cfg], tokenizer=tok, length=30, samples=2, seed=3
    )
    alone = generate(model, [cfg, cfg], tokenizer=tok, length=30, samples=2, seed=3)
    assert together[2].tokens == alone[0].tokens == alone[2].tokens
    assert together[3].tokens == alone[1].tokens
    assert alone[0].tokens != alone[1].tokens


def test_all_rows_share_one_forward_pass_per_step():
    model, tok = tiny()
    counting = CountingModel(model)
    CountingModel.calls = 0
    gens = generate(counting, default_configs(), tokenizer=tok, length=25, samples=5, seed=0)
    steps = max(len(g.tokens) + g.trimmed for g in gens)
    assert len(gens) == 20
    assert CountingModel.calls <= steps  # one primer pass + one step per generated token (the last not fed)
    assert CountingModel.calls >= steps - 1


def test_greedy_takes_the_argmax_and_records_are_consistent():
    model, tok = tiny()
    gens = generate(
        model,
        [SamplingConfig("greedy"), SamplingConfig("top-k", k=3), SamplingConfig("top-p", p=0.5)],
        tokenizer=tok,
        length=30,
        record_top=5,
        seed=1,
    )
    greedy, topk, topp = gens
    assert len(greedy.steps) == len(greedy.tokens)
    for step in greedy.steps:
        assert step.token == step.top_before[0][0]
        assert step.p_after == pytest.approx(1.0) and step.n_kept == 1
        assert step.n_allowed >= 1
    for step in topk.steps:
        assert step.n_kept <= 3 and len(step.top_after) <= 3
        assert sum(p for _, p in step.top_after) == pytest.approx(1.0, abs=1e-5)
        assert step.token in [i for i, _ in step.top_after]
    for step in topp.steps:
        kept_ids = {i for i, _ in step.top_after}
        before = dict(step.top_before)
        # The kept set is the minimal nucleus: dropping its least likely member falls below p.
        kept_before = sorted((before[i] for i in kept_ids if i in before), reverse=True)
        if step.n_kept <= 5 and len(kept_before) == len(kept_ids):
            assert sum(kept_before) >= 0.5 - 1e-6
            assert sum(kept_before[:-1]) < 0.5 + 1e-6
    assert all(not g.steps for g in generate(model, default_configs(), tokenizer=tok, length=5))


def test_primer_is_fed_and_bars_continue():
    model, tok = tiny()
    primer = primer_from_melody(MELODIES[0], bars=1)
    assert [e.measure for e in primer] == [0, 1, 1, 1, 1]
    ids = encode_primer(tok, primer)
    assert ids[0] == BOS and EOS not in ids and tok.vocab[ids[-1]] != "BAR"
    gens = generate(model, default_configs(), tokenizer=tok, primer=primer, length=40, seed=0, samples=2)
    for g in gens:
        assert g.primer_tokens == ids
        assert [e.midi for e in g.primer_events] == [e.midi for e in primer]
        assert g.validity == 1.0
        if g.events:
            assert g.events[0].measure >= 1
    # A Melody works as a primer too, and None means BOS only.
    assert (
        generate(model, default_configs()[:1], tokenizer=tok, primer=MELODIES[1], length=5)[0].primer_tokens[
            0
        ]
        == BOS
    )
    assert generate(model, default_configs()[:1], tokenizer=tok, length=5)[0].primer_tokens == [BOS]


def test_bad_primers_are_clear_errors():
    model, tok = tiny()
    unknown = [note("C", 2, 1.0, 1)]
    with pytest.raises(PrimerError, match="C2"):
        generate(model, default_configs(), tokenizer=tok, primer=unknown, length=5)
    overfull = [note("C", 5, 1.5, 1), note("C", 5, 1.5, 1), note("C", 5, 1.5, 1), note("C", 5, 1.5, 2)]
    with pytest.raises(PrimerError, match="grammar"):
        generate(model, default_configs(), tokenizer=tok, primer=overfull, length=5)
    # Unconstrained generation accepts a primer that breaks the grammar.
    generate(model, default_configs(), tokenizer=tok, primer=overfull, length=5, constrained=False)


def test_window_mode_with_a_long_window_matches_stateful_greedy():
    model, tok = tiny()
    cfg = [SamplingConfig("greedy"), SamplingConfig("top-k", k=4)]
    a = generate(model, cfg, tokenizer=tok, length=30, seed=4)
    b = generate(model, cfg, tokenizer=tok, length=30, seed=4, mode="window", window=1000)
    assert [g.tokens for g in a] == [g.tokens for g in b]
    assert b[0].mode == "window"
    short = generate(model, cfg, tokenizer=tok, length=30, seed=4, mode="window", window=2)
    assert all(g.validity == 1.0 for g in short)


def test_progress_and_stop():
    model, tok = tiny()
    seen = []
    generate(model, default_configs(), tokenizer=tok, length=10, progress=lambda s, n: seen.append((s, n)))
    assert seen[0] == (1, 10) and seen[-1][1] == 10
    stop = threading.Event()
    stop.set()
    gens = generate(model, default_configs(), tokenizer=tok, length=10, stop_event=stop)
    assert all(g.tokens == [] for g in gens)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"length": 0}, "length"),
        ({"samples": 0}, "samples"),
        ({"mode": "beam"}, "mode"),
        ({"window": 0}, "window"),
        ({"record_top": -1}, "record_top"),
    ],
    ids=["length", "samples", "mode", "window", "record_top"],
)
def test_argument_errors(kwargs, message):
    model, tok = tiny()
    with pytest.raises(ValueError, match=message):
        generate(model, default_configs(), tokenizer=tok, **kwargs)


def test_bare_model_needs_a_tokenizer_and_configs_are_needed():
    model, tok = tiny()
    with pytest.raises(ValueError, match="tokenizer"):
        generate(model, default_configs())
    with pytest.raises(ValueError, match="SamplingConfig"):
        generate(model, [], tokenizer=tok)


def test_generation_properties():
    model, tok = tiny()
    g = generate(model, SamplingConfig("top-k", k=2), tokenizer=tok, length=20, samples=2)[1]
    assert isinstance(g, Generation)
    assert g.label == "top-k (k=2) #2"
    assert g.full_tokens[: len(g.primer_tokens)] == g.primer_tokens
    assert g.full_events == g.primer_events + g.events


def test_checkpoint_object_is_accepted():
    from types import SimpleNamespace

    model, tok = tiny()
    ckpt = SimpleNamespace(model=model, tokenizer=tok)
    a = generate(ckpt, default_configs(), length=10, seed=0)
    b = generate(model, default_configs(), tokenizer=tok, length=10, seed=0)
    assert [g.tokens for g in a] == [g.tokens for g in b]


@pytest.mark.parametrize("name", ["workshop", "bach"])
def test_shipped_models_always_decode(name):
    path = CHECKPOINTS / f"{name}.safetensors"
    if not path.exists():
        pytest.skip(f"{path.name} is not shipped yet")
    from bachlstm.checkpoints import load_checkpoint
    from bachlstm.metrics import bar_validity

    ckpt = load_checkpoint(name)
    gens = generate(ckpt, default_configs(), length=128, samples=8, seed=0)
    assert all(g.validity == 1.0 and g.n_groups > 0 for g in gens)
    if ckpt.tokenizer.options.get("bar_tokens"):
        assert all(bar_validity(g.full_events) == 1.0 for g in gens if g.events)
    # A held-out chorale's opening as primer works too.
    from bachlstm.training import split_melodies

    primer = primer_from_melody(split_melodies(ckpt.meta)["test"][0], bars=2)
    assert all(
        g.validity == 1.0 for g in generate(ckpt, default_configs(), primer=primer, length=64, samples=2)
    )


# ----------------------------------------------------------------------------------------------------
# Comparison table, reference and the command line, on a checkpoint trained for a moment on fixtures


def scale_melodies() -> list[Melody]:
    """Nine short 4/4 melodies, each its own tune (the training tests' fixture, not a copy of it)."""
    from tests.test_training import melodies

    return melodies(9)


@pytest.fixture(scope="module")
def checkpoint_path(tmp_path_factory):
    from bachlstm.presets import get_preset
    from bachlstm.training import train

    small = dict(
        embedding_dim=4, lstm_sizes=(8,), dropouts=(0.0,), epochs=1, batch_size=4, seq_len=16, stride=8
    )
    preset = get_preset("bach", **small, augment_semitones=())
    out = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    train(preset, out=out, data=scale_melodies())
    return out


def test_comparison_table_with_the_bach_row(checkpoint_path):
    from bachlstm.checkpoints import load_checkpoint
    from bachlstm.generation import checkpoint_reference, comparison_table
    from bachlstm.metrics import METRIC_COLUMNS

    ckpt = load_checkpoint(checkpoint_path)
    ref = checkpoint_reference(ckpt, melodies=scale_melodies())
    assert ref.melodies and ref.bach["validity"] == 1.0 and ref.bach["bar_validity"] == 1.0
    gens = generate(ckpt, default_configs(), length=30, samples=2)
    table = comparison_table(gens, model=ckpt.model, reference=ref.reference, bach=ref.bach)
    assert table["method"].tolist() == [c.label for c in default_configs()] + ["Bach (held-out)"]
    assert table.columns.tolist() == ["method", "samples", *METRIC_COLUMNS]
    assert table["samples"].tolist()[:4] == [2, 2, 2, 2]
    assert (table["validity"][:4] == 1.0).all()
    assert table["kl_pc"].notna().all() and table["memorized"].notna().all()


def test_cli_generate_writes_midi_musicxml_and_json(checkpoint_path, tmp_path, capsys):
    import json

    import pretty_midi

    from bachlstm.cli import main

    mid, xml = tmp_path / "out.mid", tmp_path / "out.musicxml"
    args = [
        "generate",
        "--checkpoint",
        str(checkpoint_path),
        "--method",
        "top-k",
        "--k",
        "3",
        "--length",
        "40",
    ]
    assert main([*args, "--seed", "1", "--out", str(mid), "--musicxml", str(xml), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["method"] == "top-k" and out["config"]["k"] == 3
    assert out["metrics"]["validity"] == 1.0 and len(out["tokens"]) <= 40
    assert len(out["token_strings"]) == len(out["tokens"])
    notes = [n for inst in pretty_midi.PrettyMIDI(str(mid)).instruments for n in inst.notes]
    assert len(notes) == sum(1 for e in out["events"] if e["kind"] == "note" and e["tie"] in (None, "start"))
    assert xml.read_bytes().startswith(b"<?xml")
    # Same seed, same tokens; the plain summary names the files.
    assert main([*args, "--seed", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tokens"] == out["tokens"]
    assert main([*args, "--out", str(mid)]) == 0
    assert "MIDI" in capsys.readouterr().out


def test_cli_generate_with_a_primer_file_and_bad_input(checkpoint_path, tmp_path, capsys):
    from bachlstm.cli import main
    from bachlstm.music import to_midi

    primer = tmp_path / "primer.mid"
    primer.write_bytes(to_midi(list(scale_melodies()[0].events[:4])))
    args = ["generate", "--checkpoint", str(checkpoint_path), "--length", "20", "--json"]
    assert main([*args, "--primer", str(primer)]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert len(out["primer_events"]) == 4
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"not music")
    with pytest.raises(SystemExit) as exc:
        main([*args, "--primer", str(junk)])
    assert exc.value.code == 2
    assert "not a MIDI or MusicXML" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*args, "--temperature", "0"])
    assert "temperature" in capsys.readouterr().err


def test_cli_compare_json(checkpoint_path, capsys):
    import json

    from bachlstm.cli import main

    args = ["compare", "--checkpoint", str(checkpoint_path), "--samples", "2", "--length", "30", "--json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    methods = [r["method"] for r in out["rows"]]
    assert methods == [
        c.label for c in default_configs()
    ]  # fixture melodies are not in the corpus: no Bach row
    assert "no Bach reference" in captured.err
    assert all(r["validity"] == 1.0 and r["invalid_unmasked"] is not None for r in out["rows"])
    assert main(args[:-1] + ["--no-reference"]) == 0
    assert "greedy" in capsys.readouterr().out


def test_cli_compare_with_a_shipped_model(capsys):
    import json

    from bachlstm.cli import main

    if not (CHECKPOINTS / "workshop.safetensors").exists():
        pytest.skip("workshop.safetensors is not shipped yet")
    args = [
        "compare",
        "--checkpoint",
        "workshop",
        "--samples",
        "2",
        "--length",
        "128",
        "--max-reference",
        "8",
    ]
    assert main([*args, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows[-1]["method"] == "Bach (held-out)"
    assert all(r["validity"] == 1.0 for r in rows)


def test_bench_report_formats_its_figures():
    from bachlstm.bench.generate import format_report

    figures = {
        "model": "m", "vocab_size": 10, "n_params": 1234, "rows": 4, "length": 256, "window": 100,
        "threads": 1,
        "load_average_1min": 0.5, "cpu_count": 2, "stateful_ms": 40.0, "stateful_steps": 256,
        "unconstrained_ms": 30.0, "model_only_ms": 25.0, "module_step_ms": 60.0, "overhead_ms": 15.0,
        "window_ms": 400.0,
        "window_steps": 256, "speedup_stateful_vs_window": 10.0, "target_ms": 50.0, "target_speedup": 5.0,
        "meets_time_target": True, "meets_speedup_target": True,
    }  # fmt: skip
    report = format_report(figures)
    assert "40.0 ms (meets the 50 ms target)" in report and "10.0x faster" in report


def test_factored_generation_keeps_the_primers_pickup_bars():
    model, tok = tiny("factored")
    primer = primer_from_melody(MELODIES[0], bars=1)  # a one-beat pickup, then one bar
    g = generate(model, SamplingConfig("top-k", k=4), tokenizer=tok, primer=primer, length=60, seed=1)[0]
    assert [e.measure for e in g.primer_events] == [0, 1, 1, 1, 1]
    assert g.events and g.events[0].measure == 2 and g.events[0].beat == 1.0


def test_step_records_line_up_with_the_kept_tokens():
    model, tok = tiny()
    for g in generate(model, default_configs(), tokenizer=tok, length=40, samples=3, record_top=3, seed=9):
        assert [s.token for s in g.steps] == g.tokens


def test_step_frame_and_zip():
    import io
    import zipfile

    from bachlstm.generation import generations_zip, step_frame

    model, tok = tiny()
    gens = generate(
        model,
        [SamplingConfig("top-k", k=2), SamplingConfig("greedy")],
        tokenizer=tok,
        length=12,
        record_top=4,
    )
    frame = step_frame(gens[0], 0, tok.vocab)
    assert frame.columns.tolist() == ["token_id", "token", "before", "after", "kept", "chosen"]
    assert frame["kept"].sum() <= 2 and frame["chosen"].sum() == 1
    assert frame["after"].sum() == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(IndexError, match="outside"):
        step_frame(gens[0], 99, tok.vocab)
    names = zipfile.ZipFile(io.BytesIO(generations_zip(gens, key_sharps=0))).namelist()
    assert sorted(names) == ["greedy_1.mid", "greedy_1.musicxml", "top-k_k_2_1.mid", "top-k_k_2_1.musicxml"]


def _sounding(events):
    """(onset, midi, duration) of every sounding note, tied notes merged, offsets from the first note."""
    out, t, tied = [], 0.0, False
    for e in events:
        if not e.is_rest:
            if tied and out and out[-1][1] == e.midi:
                out[-1] = (out[-1][0], e.midi, out[-1][2] + e.quarter_length)
            else:
                out.append((t, e.midi, e.quarter_length))
        tied = not e.is_rest and e.tie in ("start", "continue")
        t += e.quarter_length
    return [(on - out[0][0], m, d) for on, m, d in out] if out else []


@pytest.mark.parametrize("fmt", ["musicxml", "midi"])
def test_generated_melodies_survive_export_and_reimport(fmt):
    from bachlstm.music import to_midi, to_musicxml

    model, tok = tiny("event-bars-ties")
    export = to_musicxml if fmt == "musicxml" else to_midi
    for g in generate(model, default_configs(), tokenizer=tok, length=50, samples=2, seed=3):
        melody = g.full_events
        if not any(not e.is_rest for e in melody):
            continue
        back = read_primer(export(melody), f"g.{fmt}")
        assert _sounding(back) == _sounding(melody), g.label


def test_fast_lstm_step_gives_the_same_melodies_as_model_step():
    model, tok = tiny()
    model.eval()
    configs = [*default_configs(), SamplingConfig("temperature", temperature=1.5)]
    fast = generate(model, configs, tokenizer=tok, length=60, samples=3, seed=2)
    slow = generate(CountingModel(model), configs, tokenizer=tok, length=60, samples=3, seed=2)
    assert [g.tokens for g in fast] == [g.tokens for g in slow]
    hidden = model.init_hidden(2)
    tokens = torch.tensor([BOS, BOS])
    model.eval()  # the wrapper's generate() restored its own (training) mode on the inner model
    assert FastStep.make(model, hidden, tokens) is not None
    model.train()
    assert FastStep.make(model, hidden, tokens) is None  # dropout on: only the model's own step
    assert FastStep.make(CountingModel(model), hidden, tokens) is None


def test_fit_primer_transposes_into_the_vocabulary():
    model, tok = tiny()
    # Melody "b" a semitone higher (D-flat major): its notes are unknown, a shift of -1 brings it home.
    melody = MELODIES[1]
    high = transpose(melody, 1, ranges={"soprano": (0, 127)}).events
    assert fit_primer(tok, high[:1])[1] == -1
    fitted, shift = fit_primer(tok, high)
    assert shift == -1
    assert [(e.pitch, e.octave, e.quarter_length) for e in fitted] == [
        (e.pitch, e.octave, e.quarter_length) for e in melody.events
    ]
    assert generate(model, default_configs(), tokenizer=tok, primer=fitted, length=10)[0].validity == 1.0
    same, zero = fit_primer(tok, MELODIES[0].events)
    assert zero == 0 and same == list(MELODIES[0].events)
    with pytest.raises(PrimerError, match="any transposition"):
        fit_primer(tok, [note("C", 5, 0.25, 1)])  # a sixteenth: no shift can help


# generate(tiny(), default_configs(), length=12, seed=5) before the loop was optimised (commit e2483f8).
PINNED = [
    [4, 4, 19, 7, 19, 21, 21, 7, 19, 21, 21, 7],
    [19, 4, 21, 7, 15, 7],
    [16, 9, 17, 13, 7],
    [21, 13, 19, 6, 7, 3],
]


def test_pinned_tokens_for_a_seed():
    """The exact tokens of a seed: speed work on the loop must not change what a seed generates."""
    model, tok = tiny()
    gens = generate(model, default_configs(), tokenizer=tok, length=12, seed=5)
    assert [g.tokens[:12] for g in gens] == PINNED


def test_memoised_grammar_steps_match_the_grammar():
    from bachlstm.generation import _transitions

    model, tok = tiny()
    grammar = grammar_of(tok)
    memo = _transitions(grammar)
    assert _transitions(grammar) is memo
    gens = generate(model, default_configs(), tokenizer=tok, length=40, seed=1)
    for g in gens:
        state = grammar.initial_state()
        for t in g.tokens:
            assert (memo.blocked(state) == ~grammar.allowed(state)).all()
            nxt, complete = memo.step(state, t)
            state = grammar.advance(state, t)
            assert nxt == state and complete == grammar.is_complete(state)
