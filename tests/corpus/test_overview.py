"""bachlstm.corpus.overview: the Corpus page's figures for one selection, exact on a tiny hand-made corpus."""

import pickle

from bachlstm.corpus.overview import CorpusOverview, corpus_overview
from bachlstm.corpus.selection import SelectionConfig
from bachlstm.music.events import Corpus, Part, Piece
from tests.builders import note


def line(*notes):
    """Quarter notes, four to a bar."""
    return tuple(note(p, o, beat=1.0 + i % 4, measure=1 + i // 4) for i, (p, o) in enumerate(notes))


def piece(pid, ts, soprano, sharps=0, mode="major"):
    parts = (Part("Soprano", ts, soprano), Part("Bass", ts, line(("C", 3))))
    return Piece(pid, f"bach/{pid}.mxl", f"title {pid}", sharps, mode, "", ts, parts, 2, 0.0, 8.0)


TUNE = line(("C", 5), ("D", 5), ("E", 5), ("C", 5), ("G", 4), ("C", 5))
CORPUS = Corpus(
    (piece("a", ("4/4",), TUNE), piece("b", ("4/4",), TUNE[:2], 1, "minor"), piece("c", ("3/4",), TUNE)),
    3,
    "x",
    1,
)
SOPRANOS_4_4 = SelectionConfig(("4/4",), "soprano", min_events=3)


def test_overview_counts_what_the_filters_keep_and_why():
    o = corpus_overview(CORPUS, SOPRANOS_4_4, "event", seq_lens=(2, 4))
    assert isinstance(o, CorpusOverview)
    assert (o.n_melodies, o.n_pieces, o.n_excluded) == (1, 1, 2)
    assert o.summary.to_dict("list") == {
        "reason": ["selected", "too short", "time signature"],
        "count": [1, 1, 1],
    }
    assert o.excluded[["piece_id", "reason"]].values.tolist() == [["b", "too short"], ["c", "time signature"]]
    assert o.time_signatures.time_signatures.tolist() == ["4/4", "3/4"]  # of the whole corpus
    # lengths ignore the length limits, so the chart can show what the cut-off removes
    assert o.lengths.values.tolist() == [["a", "soprano", 6], ["b", "soprano", 2]]
    assert o.melodies.piece_id.tolist() == ["a"]
    assert o.keys.to_dict("list") == {
        "key": ["C major"],
        "key_sharps": [0],
        "mode": ["major"],
        "n_pieces": [1],
    }


def test_overview_describes_the_selected_melodies_and_tokens():
    o = corpus_overview(CORPUS, SOPRANOS_4_4, "event", seq_lens=(2, 4))
    assert dict(zip(o.pitch_classes.name, o.pitch_classes["count"])) == {
        "C": 3.0, "C#": 0.0, "D": 1.0, "E-": 0.0, "E": 1.0, "F": 0.0, "F#": 0.0, "G": 1.0, "G#": 0.0,
        "A": 0.0, "B-": 0.0, "B": 0.0,
    }  # fmt: skip
    assert o.durations[["duration", "count"]].values.tolist() == [["quarter", 6]]
    assert o.tokens.token.tolist() == ["C5_1", "BAR", "D5_1", "E5_1", "G4_1"]
    assert o.n_tokens == 8 and o.vocab_size == 10  # 6 notes + 2 bars; 4 notes, BAR, TIE, 4 special
    assert set(o.coverage.tokenizer) == {"event", "factored"}
    # windows without limits and with the chosen ones (min 3, no max)
    assert o.windows[["seq_len", "n_windows"]].values.tolist() == [[2, 8], [4, 6], [2, 8], [4, 6]]
    assert o.windows.min_events.isna().tolist() == [True, True, False, False]
    assert set(o.embedding.tokenizer) == {"event", "factored"}
    assert (o.equidistant["max_clique"], o.equidistant["dimension"]) == (3, 3)


def test_no_melody_selected_leaves_the_melody_figures_empty():
    o = corpus_overview(CORPUS, SelectionConfig(("4/4",), "soprano", min_events=50))
    assert (o.n_melodies, o.n_excluded, o.n_tokens) == (0, 3, 0)
    assert o.summary.to_dict("list") == {
        "reason": ["selected", "too short", "time signature"],
        "count": [0, 2, 1],
    }
    assert o.keys.empty and o.melodies.empty
    assert (o.tokens, o.vocab_size, o.windows, o.equidistant) == (None, None, None, None)


def test_overview_survives_pickling_for_the_page_cache():
    o = corpus_overview(CORPUS, SOPRANOS_4_4, "factored", seq_lens=(4,))
    again = pickle.loads(pickle.dumps(o))  # st.cache_data pickles what it stores
    assert again.n_tokens == o.n_tokens and again.tokens.equals(o.tokens)
