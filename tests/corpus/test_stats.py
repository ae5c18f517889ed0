"""Statistics frames: exact values on a tiny hand-made corpus, windows as make_windows cuts them."""

import numpy as np
import pytest

from bachlstm.corpus import stats as S
from bachlstm.corpus.cache import DEFAULT_CACHE_PATH, read_cache
from bachlstm.music.events import Corpus, Melody, Part, Piece
from tests.builders import note, rest

SOP = (note("C", 5, measure=0), note("D", 5, 2.0), rest(), note("B", 4, 0.5, 2),
       note("C", 5, 1.5, 2))  # fmt: skip
BASS = (note("C", 3, 4.0), note("G", 2, 4.0, 2))
MELODIES = [
    Melody("p1", "soprano", SOP, tune="t1"),
    Melody("p1", "bass", BASS, tune="t1"),
    Melody("p2", "soprano", (note("F#", 4), rest(2.0)), tune="t2"),
]


def piece(pid, ts, n_parts, sharps=0, mode="major", flags=()):
    parts = tuple(Part(f"v{i}", ts, (), flags if i == 0 else ()) for i in range(n_parts))
    return Piece(pid, "", "", sharps, mode, "", ts, parts, 2, 0.0, 8.0, flags)


CORPUS = Corpus(
    (
        piece("a", ("4/4",), 4, -1, "major", ("chord",)),
        piece("b", ("4/4",), 5, -1, "major"),
        piece("c", ("3/4",), 4, 2, "minor", ("chord", "grace")),
        piece("d", ("4/4", "3/4"), 4, 0, "minor"),
    ),
    4,
    "x",
    1,
)


def test_time_signature_counts():
    df = S.time_signature_counts(CORPUS)
    assert df.to_dict("list") == {
        "time_signatures": ["4/4", "3/4", "4/4 + 3/4"],
        "n_pieces": [2, 1, 1],
        "n_four_parts": [1, 1, 1],
    }


def test_flag_and_key_counts():
    assert S.flag_counts(CORPUS).to_dict("list") == {
        "flag": ["chord", "grace"],
        "n_pieces": [2, 1],
        "n_parts": [2, 1],
    }
    assert S.key_counts(CORPUS).to_dict("list") == {
        "key": ["F major", "A minor", "B minor"],
        "key_sharps": [-1, 0, 2],
        "mode": ["major", "minor", "minor"],
        "n_pieces": [2, 1, 1],
    }
    table = S.piece_table(CORPUS)
    assert list(table["time_signatures"]) == ["4/4", "4/4", "3/4", "4/4 + 3/4"]
    assert list(table["key"]) == ["F major", "F major", "B minor", "A minor"]


def test_melody_table_and_lengths():
    t = S.melody_table(MELODIES)
    assert t[["n_events", "n_notes", "n_rests", "n_measures", "n_quarters"]].values.tolist() == [
        [5, 4, 1, 3, 6.0],
        [2, 2, 0, 2, 8.0],
        [2, 1, 1, 1, 3.0],
    ]
    assert t[["lowest", "highest", "span"]].values.tolist() == [[71, 74, 3], [43, 48, 5], [66, 66, 0]]
    s = S.length_summary(MELODIES)
    sop_events = s[(s.voice == "soprano") & (s.measure == "events")].iloc[0]
    assert (sop_events["count"], sop_events["min"], sop_events["median"], sop_events["max"]) == (2, 2, 3.5, 5)
    assert list(s.voice.unique()) == ["bass", "soprano"]
    assert len(s) == 6


def test_melody_without_notes_has_no_ambitus():
    t = S.melody_table([Melody("x", "alto", (rest(),))])
    assert np.isnan(t.loc[0, "lowest"]) and t.loc[0, "n_rests"] == 1
    assert S.ambitus([Melody("x", "alto", (rest(),))]).empty


def test_ambitus():
    a = S.ambitus(MELODIES)
    assert a.to_dict("list") == {
        "voice": ["bass", "soprano"],
        "n_melodies": [1, 2],
        "lowest": [43, 66],
        "highest": [48, 74],
        "lowest_name": ["G2", "F#4"],
        "highest_name": ["C3", "D5"],
        "median_span": [5.0, 1.5],
        "max_span": [5, 3],
    }


def test_pitch_class_histogram():
    h = S.pitch_class_histogram(MELODIES)
    assert len(h) == 12 and h["count"].sum() == 7
    assert dict(zip(h["name"], h["count"])) == {
        "C": 3, "C#": 0, "D": 1, "E-": 0, "E": 0, "F": 0, "F#": 1, "G": 1, "G#": 0, "A": 0, "B-": 0, "B": 1,
    }  # fmt: skip
    assert h["share"].sum() == pytest.approx(1.0)
    w = S.pitch_class_histogram(MELODIES, by_duration=True)
    assert w.loc[0, "count"] == pytest.approx(1 + 1.5 + 4)  # the Cs: quarter, dotted quarter, whole
    assert S.pitch_class_histogram([])["share"].sum() == 0


def test_duration_histogram():
    d = S.duration_histogram(MELODIES)
    assert d[["quarter_length", "duration", "notes", "rests", "count"]].values.tolist() == [
        [0.5, "eighth", 1, 0, 1],
        [1.0, "quarter", 2, 1, 3],
        [1.5, "dotted quarter", 1, 0, 1],
        [2.0, "half", 1, 1, 2],
        [4.0, "whole", 2, 0, 2],
    ]
    assert d["share"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "n_tokens, seq_len, stride, expected",
    [(0, 4, 1, 0), (1, 4, 1, 0), (2, 4, 1, 1), (5, 4, 1, 1), (11, 4, 1, 7), (11, 4, 3, 3), (11, 4, 4, 3),
     (351, 250, 1, 101)],
    ids=["empty", "one", "two", "fits", "stride1", "stride3", "stride4", "original"],
)  # fmt: skip
def test_n_windows(n_tokens, seq_len, stride, expected):
    assert S.n_windows(n_tokens, seq_len, stride) == expected


def test_n_windows_matches_make_windows():
    from bachlstm.training.dataset import make_windows

    for length in range(0, 12):
        for seq_len in (1, 3, 5):
            for stride in (1, 2, 4):
                if stride > seq_len:
                    with pytest.raises(ValueError, match="stride"):
                        S.n_windows(length, seq_len, stride)
                    continue
                inputs, targets = make_windows([list(range(4, 4 + length))], seq_len, stride, pad_id=0)
                case = (length, seq_len, stride)
                assert len(inputs) == S.n_windows(length, seq_len, stride), case
                assert int((targets != 0).sum()) == S.window_targets(length, seq_len, stride), case


class _FixedTokenizer:
    """Encodes any melody as `length` tokens, to test window arithmetic alone."""

    name = "fixed"

    def __init__(self, length):
        self.length = length
        self.vocab = [str(i) for i in range(4 + max(1, self.length))]

    def encode(self, events, bos_eos=True):
        return list(range(4, 4 + self.length))


def test_window_counts_with_limits():
    df = S.window_counts(
        MELODIES, _FixedTokenizer(6), [2, 8], stride=1, length_limits=[(None, None), (3, None)]
    )
    assert df[["seq_len", "n_melodies", "n_tokens", "n_windows", "n_targets"]].values.tolist() == [
        [2, 3, 18, 12, 24],
        [8, 3, 18, 3, 15],
        [2, 1, 6, 4, 8],
        [8, 1, 6, 1, 5],
    ]
    assert df.loc[1, "padding_share"] == pytest.approx(1 - 15 / 24)
    assert df["min_events"].isna().tolist() == [True, True, False, False]


def test_token_frequencies_and_coverage():
    from bachlstm.tokens.tokenizers import build_tokenizer

    tok = build_tokenizer("event", MELODIES)
    f = S.token_frequencies(MELODIES, tok)
    assert f["count"].sum() == sum(len(tok.encode(m.events, bos_eos=False)) for m in MELODIES)
    assert "<bos>" not in set(f["token"]) and "<eos>" not in set(f["token"])
    assert f.equals(S.token_frequencies(MELODIES, "event"))  # a name builds the same tokenizer
    c5 = f[f.token.str.startswith("C5")]
    assert c5["count"].tolist() == [1, 1] and set(c5["type"]) == {"note"}
    assert f["rank"].tolist() == list(range(1, len(f) + 1))
    assert f["count"].is_monotonic_decreasing
    assert f["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    cov = S.vocabulary_coverage(MELODIES, ("factored", "event"), top=(1, 1000))
    assert cov["tokenizer"].tolist() == ["factored", "factored", "event", "event"]
    assert cov[cov.top_n == 1000]["coverage"].tolist() == [pytest.approx(1.0)] * 2
    first = S.token_frequencies(MELODIES, "factored")
    assert cov.loc[0, "coverage"] == pytest.approx(first["share"].iloc[0])


def test_embedding_suggestions():
    df = S.embedding_suggestions({"factored": 36, "event": 180})
    assert df[["tokenizer", "rule", "dim"]].values.tolist() == [
        ["factored", "fourth root", 2],
        ["factored", "fast.ai", 12],
        ["factored", "original", 3],
        ["event", "fourth root", 4],
        ["event", "fast.ai", 29],
        ["event", "original", 3],
    ]
    with pytest.raises(ValueError, match="'x'"):
        S.embedding_suggestions({"x": 0})


def test_equidistant_table_and_clique():
    assert [S.dim_for_equidistant(k) for k in (2, 6, 7, 16, 17, 29, 30, 31)] == [3, 3, 5, 6, 7, 14, 14, None]
    assert S._max_clique([]) == 0
    assert S._max_clique([(0, 1)]) == 2
    assert S._max_clique([(0, 1), (1, 2), (0, 2), (2, 3)]) == 3
    k4 = [(a, b) for a in range(4) for b in range(a + 1, 4)]
    assert S._max_clique(k4 + [(3, 4), (4, 5)]) == 4


def test_equidistant_bound_reproduces_the_original_three():
    """On the original's selection the exact-similarity clique has 2 tokens, hence the table floor 3."""
    from bachlstm.corpus.selection import SelectionConfig, select

    corpus = read_cache(DEFAULT_CACHE_PATH)
    melodies = select(corpus, SelectionConfig.preset("original")).melodies
    exact = S.equidistant_bound(melodies, "factored")
    assert (exact["max_clique"], exact["dimension"]) == (2, 3)
    rounded = S.equidistant_bound(melodies, "factored", decimals=1)
    assert rounded["max_clique"] > exact["max_clique"]  # the bound depends on how "equal" is read
