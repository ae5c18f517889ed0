"""Which pieces a checkpoint trained on, from its metadata alone, and held-out chorales listed fairly."""

from bachlstm.music.events import Melody
from bachlstm.training.splits import inspection_order, trained_pieces


def test_trained_pieces_read_the_split_keys_of_any_voice():
    meta = {
        "split": {"train": ["bwv1.6:soprano", "bwv149.7:Trumpet 1"], "val": [], "test": ["bwv2.6:soprano"]}
    }
    assert trained_pieces(meta) == {"bwv1.6", "bwv149.7"}
    assert trained_pieces({}) == frozenset() and trained_pieces({"split": "broken"}) == frozenset()


def test_chorales_no_other_model_trained_on_come_first_in_their_order():
    melodies = [Melody(p, "soprano", ()) for p in ("bwv139.6", "bwv148.6", "bwv159.5", "bwv188.6")]
    ordered = inspection_order(melodies, frozenset({"bwv139.6", "bwv159.5"}))
    assert [m.piece_id for m in ordered] == ["bwv148.6", "bwv188.6", "bwv139.6", "bwv159.5"]
    assert inspection_order(melodies) == melodies


def test_sung_melody_lines_come_before_instrument_lines_within_each_group():
    # The workshop's first part of bwv149.7 is "Trumpet 1" (25 bars of rests): never the default.
    melodies = [
        Melody("bwv139.6", "soprano", ()),
        Melody("bwv149.7", "Trumpet 1", ()),
        Melody("bwv252", "Horn 1", ()),
        Melody("bwv159.5", "Soprano 1", ()),
        Melody("bwv345", "soprano", ()),
    ]
    ordered = inspection_order(melodies, frozenset({"bwv139.6", "bwv252"}))
    assert [(m.piece_id, m.voice) for m in ordered] == [
        ("bwv159.5", "Soprano 1"),
        ("bwv345", "soprano"),
        ("bwv149.7", "Trumpet 1"),
        ("bwv139.6", "soprano"),
        ("bwv252", "Horn 1"),
    ]
    assert [m.piece_id for m in inspection_order(melodies)] == [
        "bwv139.6", "bwv159.5", "bwv345", "bwv149.7", "bwv252"
    ]  # fmt: skip
