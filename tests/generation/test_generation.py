"""Generation: one batch for all rows, determinism, 100% valid decoding under the mask, primers, modes."""

import threading

import pytest
import torch

from bachlstm.generation.generator import (
    Generation,
    generate,
    row_seed,
)
from bachlstm.generation.primer import PrimerError, encode_primer, fit_primer, primer_from_melody, read_primer
from bachlstm.generation.sampling import SamplingConfig, default_configs
from bachlstm.music.notices import Notice
from bachlstm.music.pitches import transpose
from bachlstm.tokens.grammar import build_grammar, grammar_of
from bachlstm.tokens.tokenizers import BOS, EOS
from tests.builders import (
    CHECKPOINTS,
    MELODIES,
    TOKENIZERS,
    as_checkpoint,
    generation_model,
    note,
    scale_melodies,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is fastest


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
    model, tok = generation_model(name)
    grammar = build_grammar(tok)
    configs = [*default_configs(), SamplingConfig("temperature", temperature=3.0)]
    gens = generate(as_checkpoint(model, tok), configs, length=60, samples=8, seed=5)
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
    model, tok = generation_model("event-bars-ties")
    for g in generate(as_checkpoint(model, tok), default_configs(), length=80, samples=4, seed=2):
        bars: dict[int, float] = {}
        for e in g.events:
            bars[e.measure] = bars.get(e.measure, 0.0) + e.quarter_length
        full = [m for m in bars if m >= 1]
        # Every bar after the (optional) pickup is 4 quarters, except a closing bar completing the pickup.
        pickup = bars.get(0, 0.0)
        assert all(bars[m] == 4.0 or (m == max(full) and bars[m] == 4.0 - pickup) for m in full), bars


def test_same_seed_same_output_and_seeds_differ():
    model, tok = generation_model()
    cfgs = [SamplingConfig("top-p", p=0.95), SamplingConfig("temperature", temperature=1.5)]
    a = generate(as_checkpoint(model, tok), cfgs, length=40, samples=3, seed=11)
    b = generate(as_checkpoint(model, tok), cfgs, length=40, samples=3, seed=11)
    c = generate(as_checkpoint(model, tok), cfgs, length=40, samples=3, seed=12)
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
    model, tok = generation_model()
    cfg = SamplingConfig("temperature", temperature=1.2)
    together = generate(
        as_checkpoint(model, tok), [SamplingConfig("top-k", k=3), cfg], length=30, samples=2, seed=3
    )
    alone = generate(as_checkpoint(model, tok), [cfg, cfg], length=30, samples=2, seed=3)
    assert together[2].tokens == alone[0].tokens == alone[2].tokens
    assert together[3].tokens == alone[1].tokens
    assert alone[0].tokens != alone[1].tokens


def test_all_rows_share_one_forward_pass_per_step():
    model, tok = generation_model()
    counting = CountingModel(model)
    CountingModel.calls = 0
    gens = generate(as_checkpoint(counting, tok), default_configs(), length=25, samples=5, seed=0)
    steps = max(len(g.tokens) + g.trimmed for g in gens)
    assert len(gens) == 20
    assert CountingModel.calls <= steps  # one primer pass + one step per generated token (the last not fed)
    assert CountingModel.calls >= steps - 1


def test_primer_is_fed_and_bars_continue():
    model, tok = generation_model()
    primer = primer_from_melody(MELODIES[0], bars=1)
    assert [e.measure for e in primer] == [0, 1, 1, 1, 1]
    ids = encode_primer(tok, primer)
    assert ids[0] == BOS and EOS not in ids and tok.vocab[ids[-1]] != "BAR"
    gens = generate(as_checkpoint(model, tok), default_configs(), primer=primer, length=40, seed=0, samples=2)
    for g in gens:
        assert g.primer_tokens == ids
        assert [e.midi for e in g.primer_events] == [e.midi for e in primer]
        assert g.validity == 1.0
        if g.events:
            assert g.events[0].measure >= 1
    # A Melody works as a primer too, and None means BOS only.
    assert (
        generate(as_checkpoint(model, tok), default_configs()[:1], primer=MELODIES[1], length=5)[
            0
        ].primer_tokens[0]
        == BOS
    )
    assert generate(as_checkpoint(model, tok), default_configs()[:1], length=5)[0].primer_tokens == [BOS]


def test_bad_primers_are_clear_errors():
    model, tok = generation_model()
    unknown = [note("C", 2, 1.0, 1)]
    with pytest.raises(PrimerError, match="C2"):
        generate(as_checkpoint(model, tok), default_configs(), primer=unknown, length=5)
    overfull = [note("C", 5, 1.5, 1), note("C", 5, 1.5, 1), note("C", 5, 1.5, 1), note("C", 5, 1.5, 2)]
    with pytest.raises(PrimerError, match="grammar"):
        generate(as_checkpoint(model, tok), default_configs(), primer=overfull, length=5)
    # Unconstrained generation accepts a primer that breaks the grammar.
    generate(as_checkpoint(model, tok), default_configs(), primer=overfull, length=5, constrained=False)


def test_window_mode_with_a_long_window_matches_stateful_greedy():
    model, tok = generation_model()
    cfg = [SamplingConfig("greedy"), SamplingConfig("top-k", k=4)]
    a = generate(as_checkpoint(model, tok), cfg, length=30, seed=4)
    b = generate(as_checkpoint(model, tok), cfg, length=30, seed=4, mode="window", window=1000)
    assert [g.tokens for g in a] == [g.tokens for g in b]
    assert b[0].mode == "window"
    short = generate(as_checkpoint(model, tok), cfg, length=30, seed=4, mode="window", window=2)
    assert all(g.validity == 1.0 for g in short)


def test_progress_and_stop():
    model, tok = generation_model()
    seen = []
    generate(
        as_checkpoint(model, tok), default_configs(), length=10, progress=lambda s, n: seen.append((s, n))
    )
    assert seen[0] == (1, 10) and seen[-1][1] == 10
    stop = threading.Event()
    stop.set()
    gens = generate(as_checkpoint(model, tok), default_configs(), length=10, stop_event=stop)
    assert all(g.tokens == [] for g in gens)


def test_stepping_loops_of_one_process_run_one_at_a_time():
    """A class's sessions are threads of one server: a second generation starts stepping only when the
    first has finished (ONE_LOOP), even while the first one waits inside its loop."""
    model, tok = generation_model()
    ck = as_checkpoint(model, tok)
    seen = []
    second = threading.Thread(
        target=generate,
        args=(ck, default_configs()),
        kwargs=dict(length=5, progress=lambda s, n: seen.append("B")),
    )

    def first_progress(step, n):
        seen.append("A")
        if step == 1:
            second.start()
            second.join(timeout=0.3)  # without the lock, B would step (and note it) meanwhile

    generate(ck, default_configs(), length=5, min_length=5, progress=first_progress)
    second.join()
    assert seen == ["A"] * 5 + ["B"] * seen.count("B") and "B" in seen


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"length": 0}, "length"),
        ({"samples": 0}, "samples"),
        ({"mode": "beam"}, "mode"),
        ({"window": 0}, "window"),
    ],
    ids=["length", "samples", "mode", "window"],
)
def test_argument_errors(kwargs, message):
    model, tok = generation_model()
    with pytest.raises(ValueError, match=message):
        generate(as_checkpoint(model, tok), default_configs(), **kwargs)


def test_only_a_checkpoint_is_accepted_and_configs_are_needed():
    model, tok = generation_model()
    for wrong in (model, "workshop", CHECKPOINTS / "workshop.safetensors"):
        with pytest.raises(TypeError, match="loaded Checkpoint"):
            generate(wrong, default_configs())
    with pytest.raises(ValueError, match="SamplingConfig"):
        generate(as_checkpoint(model, tok), [])


def test_generation_properties():
    model, tok = generation_model()
    g = generate(as_checkpoint(model, tok), SamplingConfig("top-k", k=2), length=20, samples=2)[1]
    assert isinstance(g, Generation)
    assert g.label == "top-k (k=2) #2"
    assert g.full_tokens[: len(g.primer_tokens)] == g.primer_tokens
    assert g.full_events == g.primer_events + g.events


@pytest.mark.parametrize("name", ["workshop", "bach"])
def test_shipped_models_always_decode(name):
    from bachlstm.analysis.metrics import bar_validity
    from bachlstm.model.checkpoints import load_checkpoint

    ckpt = load_checkpoint(name)
    gens = generate(ckpt, default_configs(), length=128, samples=8, seed=0)
    assert all(g.validity == 1.0 and g.n_groups > 0 for g in gens)
    if ckpt.tokenizer.options.get("bar_tokens"):
        assert all(bar_validity(g.full_events) == 1.0 for g in gens if g.events)
    # A held-out chorale's opening as primer works too.
    from bachlstm.training.splits import split_melodies

    primer = primer_from_melody(split_melodies(ckpt.meta)["test"][0], bars=2)
    assert all(
        g.validity == 1.0 for g in generate(ckpt, default_configs(), primer=primer, length=64, samples=2)
    )


# ----------------------------------------------------------------------------------------------------
# The command line, on a checkpoint trained for a moment on fixtures (conftest.checkpoint_path)


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
    kept = mid.read_bytes()
    with pytest.raises(SystemExit) as refused:  # the file exists: refused, never replaced silently
        main([*args, "--seed", "2", "--out", str(mid)])
    err = capsys.readouterr().err
    assert refused.value.code == 2 and f"--out {mid}: the file already exists" in err and "--overwrite" in err
    assert mid.read_bytes() == kept
    with pytest.raises(SystemExit):
        main([*args, "--musicxml", str(tmp_path)])  # a folder is never a file to write
    assert "is a folder" in capsys.readouterr().err
    assert main([*args, "--seed", "2", "--out", str(mid), "--overwrite"]) == 0
    assert "MIDI" in capsys.readouterr().out and mid.read_bytes() != kept


def test_cli_generate_with_a_primer_file_and_bad_input(checkpoint_path, tmp_path, capsys):
    from bachlstm.cli import main
    from bachlstm.music.scores import to_midi

    primer = tmp_path / "primer.mid"
    primer.write_bytes(to_midi(list(scale_melodies(9)[0].events[:4])))
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


def test_bench_report_formats_its_figures():
    from benchmarks.generate import format_report

    figures = {
        "model": "m", "vocab_size": 10, "n_params": 1234, "rows": 4, "length": 256, "window": 100,
        "threads": 1,
        "load_average_1min": 0.5, "cpu_count": 2, "stateful_ms": 40.0, "stateful_steps": 256,
        "unconstrained_ms": 30.0, "model_only_ms": 25.0, "overhead_ms": 15.0,
        "window_ms": 400.0,
        "window_steps": 256, "speedup_stateful_vs_window": 10.0, "target_ms": 50.0, "target_speedup": 5.0,
        "meets_time_target": True, "meets_speedup_target": True, "page_length": 128, "reference_ms": 400.0,
        "reference_melodies": 36, "page_compare_ms": 90.0, "explorer_step_ms": 3.0,
    }  # fmt: skip
    report = format_report(figures)
    assert "40.0 ms (meets the 50 ms target)" in report and "10.0x faster" in report
    assert "36 held-out melodies: 90.0 ms" in report and "explorer step: 3.0 ms" in report
    assert "forward steps alone: 25.0 ms; sampling + grammar: 15.0 ms; without the mask: 30.0 ms" in report


def test_factored_generation_keeps_the_primers_pickup_bars():
    model, tok = generation_model("factored")
    primer = primer_from_melody(MELODIES[0], bars=1)  # a one-beat pickup, then one bar
    g = generate(as_checkpoint(model, tok), SamplingConfig("top-k", k=4), primer=primer, length=60, seed=1)[0]
    assert [e.measure for e in g.primer_events] == [0, 1, 1, 1, 1]
    assert g.events and g.events[0].measure == 2 and g.events[0].beat == 1.0


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
    from bachlstm.music.scores import to_midi, to_musicxml

    model, tok = generation_model("event-bars-ties")
    export = to_musicxml if fmt == "musicxml" else to_midi
    for g in generate(as_checkpoint(model, tok), default_configs(), length=50, samples=2, seed=3):
        melody = g.full_events
        if not any(not e.is_rest for e in melody):
            continue
        back = read_primer(export(melody), f"g.{fmt}").events
        assert _sounding(back) == _sounding(melody), g.label


def test_lstm_step_gives_the_same_melodies_as_the_forward_pass():
    """LSTMModel.step (the LSTM equations written out) against a wrapper that steps through forward
    (nn.LSTM's fused call): the same melodies."""
    model, tok = generation_model()
    model.eval()
    configs = [*default_configs(), SamplingConfig("temperature", temperature=1.5)]
    written_out = generate(as_checkpoint(model, tok), configs, length=60, samples=3, seed=2)
    wrapped = as_checkpoint(CountingModel(model), tok)
    through_forward = generate(wrapped, configs, length=60, samples=3, seed=2)
    assert [g.tokens for g in written_out] == [g.tokens for g in through_forward]


def test_generation_runs_the_readable_filters(monkeypatch):
    """The functions students read in sampling.py are the ones that make the music."""
    from bachlstm.generation import sampling

    calls = []

    def counted(name, real):
        return lambda *args: calls.append(name) or real(*args)

    for name in ("greedy", "top_k_filter", "top_p_filter", "scale_by_temperature", "min_p_filter"):
        monkeypatch.setattr(sampling, name, counted(name, getattr(sampling, name)))
    model, tok = generation_model()
    configs = [SamplingConfig("greedy"), SamplingConfig("top-k", k=3), SamplingConfig("top-p", min_p=0.1)]
    gens = generate(as_checkpoint(model, tok), configs, length=5, seed=0)
    steps = max(len(g.tokens) + g.trimmed for g in gens)
    assert calls.count("greedy") == calls.count("top_k_filter") == calls.count("top_p_filter") == steps
    assert calls.count("min_p_filter") == steps and calls.count("scale_by_temperature") == 2 * steps


def test_fit_primer_transposes_into_the_vocabulary():
    model, tok = generation_model()
    # Melody "b" a semitone higher (D-flat major): its notes are unknown, a shift of -1 brings it home.
    melody = MELODIES[1]
    high = transpose(melody, 1, ranges={"soprano": (0, 127)}).events
    assert fit_primer(tok, high[:1])[1] == -1
    fitted, shift = fit_primer(tok, high)
    assert shift == -1
    assert [(e.pitch, e.octave, e.quarter_length) for e in fitted] == [
        (e.pitch, e.octave, e.quarter_length) for e in melody.events
    ]
    assert generate(as_checkpoint(model, tok), default_configs(), primer=fitted, length=10)[0].validity == 1.0
    same, zero = fit_primer(tok, MELODIES[0].events)
    assert zero == 0 and same == list(MELODIES[0].events)
    with pytest.raises(PrimerError, match="even moved up or down by up to 6 semitones") as err:
        fit_primer(tok, [note("C", 5, 0.25, 1)])  # a sixteenth: no shift can help
    assert err.value.notice == Notice.of("unknown_notes", max_shift=6, note=72, quarters="0.25")
    assert str(err.value).endswith("Try another track, a melody with a smaller range, or a simpler rhythm")


# generate(generation_model(), default_configs(), length=12, seed=5) before the loop was optimised
# (commit e2483f8).
PINNED = [
    [4, 4, 19, 7, 19, 21, 21, 7, 19, 21, 21, 7],
    [19, 4, 21, 7, 15, 7],
    [16, 9, 17, 13, 7],
    [21, 13, 19, 6, 7, 3],
]


def test_pinned_tokens_for_a_seed():
    """The exact tokens of a seed: speed work on the loop must not change what a seed generates."""
    model, tok = generation_model()
    gens = generate(as_checkpoint(model, tok), default_configs(), length=12, seed=5)
    assert [g.tokens[:12] for g in gens] == PINNED


def test_memoised_grammar_steps_match_the_grammar():
    from bachlstm.generation.generator import _transitions

    model, tok = generation_model()
    grammar = grammar_of(tok)
    memo = _transitions(grammar)
    assert _transitions(grammar) is memo
    # kept by content: another tokenizer equal to this one, and another grammar of it, find the same memo
    assert _transitions(build_grammar(generation_model()[1])) is memo
    assert _transitions(build_grammar(generation_model("factored")[1])) is not memo
    gens = generate(as_checkpoint(model, tok), default_configs(), length=40, seed=1)
    for g in gens:
        state = grammar.initial_state()
        for t in g.tokens:
            assert (memo.blocked(state) == ~grammar.allowed(state)).all()
            nxt, complete = memo.step(state, t)
            state = grammar.advance(state, t)
            assert nxt == state and complete == grammar.is_complete(state)


def test_a_greedy_line_made_before_is_not_stepped_again_and_nothing_else_changes(monkeypatch):
    """The page's defaults with the shipped default model: greedy falls into a repeated note and runs
    to the note limit, which kept every row of the batch stepping. Made once, it is reused: the same
    melodies, bit for bit, in fewer steps."""
    from bachlstm.generation import generator
    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.reports.links import length_arguments

    monkeypatch.setattr(generator, "_GREEDY", generator._Kept(8))
    ck = load_checkpoint("chorale")
    steps = []
    stepping = ck.model.step
    monkeypatch.setattr(ck.model, "step", lambda *a: steps.append(1) or stepping(*a))

    def made(seed):
        steps.clear()
        gens = generate(ck, default_configs(), seed=seed, min_length=8, **length_arguments(40, True))
        return [(g.tokens, g.events, g.finished, g.note_limit, g.sample, g.seed) for g in gens], len(steps)

    cold, cold_steps = made(3)
    warm, warm_steps = made(3)
    assert warm == cold
    assert warm_steps < cold_steps  # greedy was the longest row: 117 notes, cut at the limit
    other, _ = made(4)
    assert other[0][:4] == cold[0][:4] and other[0][5] == 4  # the same greedy line, as seed 4's
    generator._GREEDY = generator._Kept(8)
    assert made(4)[0] == other  # made afresh: the same
    # Without a weights digest (a model made in memory) nothing is kept; a weight changed in place
    # (its version moves) is a new model.
    model, tok = generation_model()
    tiny = as_checkpoint(model, tok)

    def settings(seed):
        return generator._Settings(10, seed, True, "stateful", 1)

    assert generator._greedy_key(tiny, [1], settings(0)) is None
    tiny.meta["weights_sha256"] = "abc"
    key = generator._greedy_key(tiny, [1], settings(0))
    assert key == generator._greedy_key(tiny, [1], settings(7))  # whatever the seed
    with torch.no_grad():
        model.out.bias.add_(0.0)
    assert generator._greedy_key(tiny, [1], settings(0)) != key
