"""Minimum length: no melody ends (or stalls in silence) before `min_length` notes after the primer."""

import json

import music21
import pytest
import torch

from bachlstm.cli import main
from bachlstm.generation.generator import DEFAULT_MIN_LENGTH, _transitions, generate
from bachlstm.generation.primer import fit_primer, primer_from_melody, read_primer
from bachlstm.generation.sampling import SamplingConfig, default_configs
from bachlstm.model.checkpoints import load_checkpoint
from bachlstm.music.events import Event
from bachlstm.music.tonality import closes
from bachlstm.reports.comparison import Knobs, compare_methods, method_config
from bachlstm.tokens.grammar import build_grammar, grammar_of
from bachlstm.tokens.tokenizers import EOS
from tests.builders import MELODIES, as_checkpoint, generation_model

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is fastest


def preferring(name: str, *order: str):
    """A tiny checkpoint whose output ignores its input: the first token type in `order` is by far the
    most likely wherever the grammar allows it, then the second, ...; everything else least likely.

    Types: "eos", "note" (one note token of each pitch class / the pitch token "G"), "rest", "bar".
    """
    model, tok = generation_model(name)
    with torch.no_grad():
        model.out.weight.zero_()
        bias = torch.zeros(len(tok.vocab))
        for rank, kind in enumerate(order):
            bias[_ids(tok, kind)] = 40.0 * (len(order) - rank)
        model.out.bias.copy_(bias)
    return as_checkpoint(model, tok)


def _ids(tok, kind: str) -> list[int]:
    if kind == "eos":
        return [EOS]
    if kind == "note":  # one note: G4 quarter (event tokens) or the pitch G (factored)
        wanted = {"G4_1", "G"}
        return [i for i, t in enumerate(tok.vocab) if t in wanted]
    if kind == "rest":  # the quarter rest; factored: the rest marker, else a group's first duration
        wanted = {"R_1", "rest"} if tok.name == "event" or "rest" in tok.vocab else {"quarter"}
        return [i for i, t in enumerate(tok.vocab) if t in wanted]
    return [i for i in range(len(tok.vocab)) if tok.token_type(i) == kind]


TOKENIZER_CASES = ["event-plain", "factored", "factored-rest"]


@pytest.mark.parametrize("name", TOKENIZER_CASES)
@pytest.mark.parametrize("n", [1, 5, 12])
def test_a_model_that_wants_to_end_writes_exactly_min_length_notes(name, n):
    ck = preferring(name, "eos", "note")
    primer = primer_from_melody(MELODIES[1], bars=1)  # one whole note: EOS may come at once
    assert all(g.notes == 0 and g.finished for g in generate(ck, default_configs(), primer=primer, length=80))
    gens = generate(ck, default_configs(), primer=primer, length=80, min_length=n, samples=2, seed=3)
    for g in gens:
        assert g.finished and g.notes == n and len(g.events) == n, (g.label, name)
        assert g.min_length == n
        assert build_grammar(ck.tokenizer).first_violation(g.full_tokens) is None


@pytest.mark.parametrize("name", TOKENIZER_CASES)
def test_unconstrained_generation_holds_the_end_too(name):
    """Without the grammar a note is still counted by its token: an event's note, a factored pitch."""
    ck = preferring(name, "eos", "note")
    tok = ck.tokenizer
    gens = generate(ck, default_configs(), length=80, min_length=4, constrained=False)
    for g in gens:
        assert g.finished and sum(tok.token_type(t) in ("note", "pitch") for t in g.tokens) == 4


@pytest.mark.parametrize("name", TOKENIZER_CASES)
def test_a_model_that_would_rather_rest_cannot_stall_in_silence(name):
    """Rests stay allowed, but not two in a row while a melody is short of its notes."""
    ck = preferring(name, "eos", "rest", "note")
    for g in generate(ck, default_configs(), length=80, min_length=3, seed=1):
        kinds = ["rest" if e.is_rest else "note" for e in g.events]
        assert g.finished and kinds == ["rest", "note"] * 3, (g.label, kinds)


def test_with_bars_the_melody_ends_on_the_first_bar_line_after_the_minimum():
    ck = preferring("event-bars-ties", "eos", "note", "bar")  # a bar line rather than a tie
    for g in generate(ck, default_configs(), length=80, min_length=6):
        # quarters: 4 notes fill the first bar, the 6th note lies in bar 2, which must be completed
        assert g.finished and g.notes == 8, g.label


def test_the_bar_that_closes_a_pickup_is_held_back_like_the_end():
    """After a pickup, a bar of (4 - pickup) quarters may close the piece: while short, it is not offered."""
    ck = preferring("event-bars-ties", "eos", "bar", "note")
    primer = primer_from_melody(MELODIES[0], bars=1)  # G4 pickup, one full bar
    assert all(g.notes == 0 for g in generate(ck, default_configs(), primer=primer, length=40))
    for g in generate(ck, default_configs(), primer=primer, length=40, min_length=5):
        assert g.finished and g.notes >= 5, g.label
        grammar = grammar_of(ck.tokenizer)
        assert grammar.is_complete(grammar.state_after(g.full_tokens))


def test_eos_is_never_held_where_it_is_the_only_token_allowed():
    ck = preferring("event-bars-ties", "eos", "note")
    grammar = grammar_of(ck.tokenizer)
    closed = ("closed", 0, 4, -1, -1)  # after the bar that closes a pickup only EOS may follow
    assert grammar.allowed(closed).sum() == 1
    assert not _transitions(grammar).ending(closed).any()


@pytest.mark.parametrize("bad", [-1, 1.5, True, "8", None])
def test_a_bad_min_length_is_named(bad):
    ck = preferring("event-plain", "eos", "note")
    with pytest.raises(ValueError, match="min_length must be a whole number of at least 0"):
        generate(ck, SamplingConfig("greedy"), length=20, min_length=bad)


def test_a_min_length_beyond_the_length_limit_is_refused():
    ck = preferring("event-plain", "eos", "note")
    with pytest.raises(
        ValueError, match=r"min_length \(21 notes\) cannot be more than the length \(20 tokens\)"
    ):
        generate(ck, SamplingConfig("greedy"), length=20, min_length=21)


def test_compare_uses_the_default_minimum_unless_told():
    ck = preferring("event-plain", "eos", "note")
    primer = primer_from_melody(MELODIES[1], bars=1)

    def notes(**kw):
        return [g.notes for g in compare_methods(ck, default_configs(), primer=primer, **kw).generations]

    assert notes(length=40) == [DEFAULT_MIN_LENGTH] * 4 == [8] * 4
    assert notes(length=5) == [5] * 4  # the default is at most the length limit
    assert notes(length=40, min_length=0) == [0] * 4
    assert notes(length=40, min_length=3) == [3] * 4


# ----------------------------------------------------------------------------------------------------
# The shipped models after primers they would end at once (the kind of ../shared/cases/c16_triplets)


def _musicxml(notes: list[tuple[str, float]]) -> bytes:
    """A one-part 4/4 MusicXML file of (pitch, quarter length) notes, written by music21."""
    part = music21.stream.Part()
    part.append(music21.meter.TimeSignature("4/4"))
    for pitch, ql in notes:
        part.append(music21.note.Note(pitch, quarterLength=ql))
    return music21.musicxml.m21ToXml.GeneralObjectExporter(music21.stream.Score([part])).parse()


PRIMERS = {
    # an eighth-note triplet, a quarter, a quarter-note triplet, a whole note
    "triplets": [("C5", 1 / 3), ("D5", 1 / 3), ("E5", 1 / 3), ("F5", 1.0)]
    + [("G5", 2 / 3), ("F5", 2 / 3), ("E5", 2 / 3), ("D5", 4.0)],
    # two rising runs of 32nd notes, then a half and a whole note
    "32nd-run": [(p, 0.125) for p in ["C5", "D5", "E5", "F5", "G5", "A5", "B5", "C6"] * 2]
    + [("D5", 2.0), ("C5", 4.0)],
}


@pytest.mark.parametrize("checkpoint", ["bach", "workshop"])
@pytest.mark.parametrize("primer", sorted(PRIMERS))
def test_shipped_models_write_notes_after_primers_they_would_end_at_once(checkpoint, primer):
    ck = load_checkpoint(checkpoint)
    events, _ = fit_primer(ck.tokenizer, read_primer(_musicxml(PRIMERS[primer]), "primer.musicxml").events)
    assert len(events) >= 8 and all(isinstance(e, Event) for e in events)
    configs = default_configs()
    for seed in range(5):
        gens = generate(ck, configs, primer=events, length=128, min_length=DEFAULT_MIN_LENGTH, seed=seed)
        short = [(g.config.method, g.notes) for g in gens if g.notes < DEFAULT_MIN_LENGTH]
        assert not short, f"seed {seed}: {short}"


# ----------------------------------------------------------------------------------------------------
# The command line


def test_cli_generate_and_compare_take_min_length(checkpoint_path, capsys):
    common = ["--checkpoint", str(checkpoint_path), "--length", "40", "--seed", "2", "--json"]
    assert main(["generate", "--method", "top-k", "--min-length", "12", *common]) == 0
    out = json.loads(capsys.readouterr().out)
    ck = load_checkpoint(checkpoint_path)
    res = compare_methods(ck, [method_config(Knobs(), "top-k")], length=40, seed=2, min_length=12)
    assert out["min_length"] == 12 and out["tokens"] == res.generations[0].tokens
    assert main(["compare", "--samples", "1", "--no-reference", "--min-length", "0", *common]) == 0
    assert json.loads(capsys.readouterr().out)["min_length"] == 0
    assert main(["compare", "--samples", "1", "--no-reference", *common]) == 0
    assert json.loads(capsys.readouterr().out)["min_length"] == DEFAULT_MIN_LENGTH


def test_cli_generate_and_compare_take_a_length_in_notes(checkpoint_path, capsys):
    common = ["--checkpoint", str(checkpoint_path), "--length", "400", "--seed", "2", "--min-length", "3"]
    assert main(["generate", "--method", "top-k", "--notes", "5", *common, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ck = load_checkpoint(checkpoint_path)
    gen = generate(ck, [method_config(Knobs(), "top-k")], length=400, seed=2, min_length=3, max_notes=5)[0]
    assert out["tokens"] == gen.tokens and out["max_notes"] == 5 and out["cut"] == gen.cut
    assert sum(e["kind"] == "note" for e in out["events"]) <= 5
    assert main(["compare", "--samples", "2", "--no-reference", "--notes", "5", *common]) == 0
    text = capsys.readouterr().out
    cut = sum(g.cut for g in compare_methods(ck, [c for c in default_configs()], length=400, seed=2,
                                             min_length=3, max_notes=5, samples=2).generations)  # fmt: skip
    assert (f"{cut} of 8 melodies were cut by the limit" in text) == (cut > 0)
    with pytest.raises(SystemExit):
        main(["compare", "--samples", "1", "--no-reference", "--notes", "0", *common])
    assert "error: --notes must be a whole number of at least 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    "value, message",
    [
        ("-3", "--min-length must be a whole number of at least 0, got -3"),
        ("41", "--min-length (41 notes) cannot be more"),
    ],
)
def test_cli_names_a_bad_min_length(checkpoint_path, capsys, value, message):
    args = ["generate", "--checkpoint", str(checkpoint_path), "--length", "40", "--min-length", value]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_cli_help_explains_min_length(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--min-length N" in out and "min_new_tokens" in out


@pytest.mark.parametrize("name", [*TOKENIZER_CASES, "event-bars-ties"])
@pytest.mark.parametrize("n", [1, 4, 9])
def test_a_model_that_never_ends_stops_at_max_notes_and_says_it_was_cut(name, n):
    ck = preferring(name, "note")  # G4 quarters for ever
    gens = generate(ck, default_configs(), length=400, max_notes=n, samples=2, seed=1)
    for g in gens:
        # the note limit, not the 400 tokens: cut before note n + 1, back to the last whole bar
        assert g.cut and g.note_limit and not g.finished and g.max_notes == n
        # with bar lines the cut melody goes back to its last whole bar (of quarters: 4 notes each)
        assert g.notes == (4 * (n // 4) if name == "event-bars-ties" else n)
        assert len(g.tokens) < 400


def test_max_notes_is_checked_with_the_other_arguments():
    ck = preferring("event-plain", "eos", "note")
    with pytest.raises(ValueError, match="max_notes"):
        generate(ck, default_configs(), max_notes=0)
    with pytest.raises(ValueError, match=r"cannot be more than the most notes \(4\)"):
        generate(ck, default_configs(), min_length=5, max_notes=4)
    # a model that ends by itself within the limit is not cut
    gens = generate(ck, default_configs(), length=80, min_length=3, max_notes=10)
    assert all(g.finished and not g.cut and g.notes == 3 for g in gens)


def test_cadence_lets_a_line_end_only_where_it_closes():
    ck = as_checkpoint(*generation_model("event-bars-ties", seed=3))  # untrained: ends anywhere
    configs = [SamplingConfig("temperature", temperature=1.5)]
    free = generate(ck, configs, length=120, samples=24, seed=5)
    assert not all(closes(g.events) for g in free if g.finished)  # the rule has something to do
    held = generate(ck, configs, length=120, samples=24, seed=5, cadence=True)
    assert all(closes(g.events) for g in held if g.finished)
    forced = generate(ck, configs, length=120, samples=24, seed=5, cadence=True, close_after=1)
    assert sum(g.finished for g in forced) > sum(g.finished for g in held)  # ends at its first closing point
    assert all(closes(g.events) for g in forced if g.finished)


def test_cadence_never_ends_a_line_that_never_closes():
    # G4 quarters and the end: each bar's last G begins on beat 4, never a strong beat
    ck = preferring("event-bars-ties", "eos", "note")
    assert all(g.finished for g in generate(ck, default_configs(), length=60, min_length=4))
    for close_after in (None, 6):
        gens = generate(ck, default_configs(), length=60, cadence=True, close_after=close_after)
        assert all(g.cut and not g.finished and g.notes >= 40 for g in gens)


def test_a_bar_decoded_alone_never_rejects_a_line_that_closes():
    """The cadence rule decodes the whole line only where its last bar, decoded alone, might close it
    (`_Cadence._bar_may_close`). Over every bar line of the 4/4 sopranos of the corpus, transposed by -5..+6
    and after primers of 0-3 bars, ties across bar lines and pickups included: never a line that closes
    rejected, and most of the lines that do not close never decoded whole."""
    from bachlstm.corpus.cache import load_corpus
    from bachlstm.corpus.selection import SelectionConfig, select
    from bachlstm.generation.generator import _Cadence
    from bachlstm.music.pitches import transpose

    tok = load_checkpoint("chorale").tokenizer
    melodies = select(load_corpus(), SelectionConfig(time_signatures=("4/4",), voice="soprano")).melodies
    bar = tok.vocab.index("BAR")
    checked = spared = 0
    for i, melody in enumerate(melodies):
        shift = i % 12 - 5
        moved = transpose(melody, shift) if shift else melody
        if moved is None:
            continue
        ids = tok.encode(moved)[:-1]  # without EOS
        bars = [0] + [k for k, t in enumerate(ids) if t == bar]
        cut = bars[min(i % 4, len(bars) - 1)] + 1  # the primer: BOS and the first 0-3 bars
        cadence = _Cadence(tok, ids[:cut], 1, None)
        for k in range(cut, len(ids)):
            cadence.advance([ids[k]])
            if ids[k] != bar:
                continue
            whole = closes(tok.decode(ids[: k + 1]).events)
            alone = cadence._bar_may_close(0)
            assert alone or not whole, (melody.id, shift, k)
            checked += 1
            spared += not alone
    assert checked > 3000
    assert spared > checked / 2, (spared, checked)  # the point of it
