"""bachlstm.ui_helpers: the Sampling page's domain helpers still there (sampling configs, warnings).

The `compare` helper of issue 8 moves these functions and their tests to bachlstm/compare.py.
"""

from __future__ import annotations

import pytest

from bachlstm import ui_helpers as ui

KNOBS = {"k": 5, "k_t": 0.8, "p": 0.95, "p_t": 1.2, "t": 1.5}


def test_sampling_configs_give_greedy_only_the_penalties():
    extras = {"min_p": 0.05, "typical_p": 1.0, "repetition_penalty": 1.2, "no_repeat_ngram": 4}
    greedy, top_k, top_p, temp = ui.sampling_configs(KNOBS, extras)
    assert (greedy.method, greedy.min_p, greedy.repetition_penalty, greedy.no_repeat_ngram) == (
        "greedy",
        0,
        1.2,
        4,
    )
    assert (top_k.k, top_k.temperature, top_k.min_p) == (5, 0.8, 0.05)
    assert (top_p.p, top_p.temperature) == (0.95, 1.2)
    assert (temp.method, temp.temperature, temp.no_repeat_ngram) == ("temperature", 1.5, 4)


def test_bad_sampling_knob_is_a_value_error():
    with pytest.raises(ValueError, match="temperature"):
        ui.sampling_configs({**KNOBS, "t": 0.0})


def test_memorization_threshold_and_warnings():
    assert ui.memorization_threshold(None) == 16
    assert ui.memorization_threshold({"memorized": 6.75}) == 16
    assert ui.memorization_threshold({"memorized": 20.0}) == 40
    row = {
        "notes": 10,
        "loops": True,
        "loop_period": 2.0,
        "memorized": 40,
        "memorized_piece": "bwv1.6:soprano",
    }
    warnings = ui.generation_warnings("greedy", row, threshold=16)
    assert warnings[0] == "greedy: ends in a loop (the same 2-note phrase 3 or more times in a row)."
    one = ui.generation_warnings("greedy", {"notes": 9, "loops": True, "loop_period": 1}, 16)
    assert one == [
        "greedy: ends in a loop (the same note 6 or more times in a row)."
    ]  # was "1-note phrase 3"
    assert "copies 40 consecutive tokens of the training piece bwv1.6:soprano" in warnings[1]
    assert ui.generation_warnings("top-p", {"notes": 3, "loops": False, "memorized": 15}, 16) == []
    assert "no notes at all" in ui.generation_warnings("x", {"notes": 0}, 16)[0]
