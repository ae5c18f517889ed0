"""Which pieces a checkpoint trained on, from its metadata alone, and held-out chorales listed fairly."""

from bachlstm.music.events import Melody
from bachlstm.training.splits import held_out_first, trained_pieces


def test_trained_pieces_read_the_split_keys_of_any_voice():
    meta = {
        "split": {"train": ["bwv1.6:soprano", "bwv149.7:Trumpet 1"], "val": [], "test": ["bwv2.6:soprano"]}
    }
    assert trained_pieces(meta) == {"bwv1.6", "bwv149.7"}
    assert trained_pieces({}) == frozenset() and trained_pieces({"split": "broken"}) == frozenset()


def test_chorales_no_other_model_trained_on_come_first_in_their_order():
    melodies = [Melody(p, "soprano", ()) for p in ("bwv139.6", "bwv148.6", "bwv159.5", "bwv188.6")]
    ordered = held_out_first(melodies, frozenset({"bwv139.6", "bwv159.5"}))
    assert [m.piece_id for m in ordered] == ["bwv148.6", "bwv188.6", "bwv139.6", "bwv159.5"]
    assert held_out_first(melodies, frozenset()) == melodies
