"""The comparison layer: methods side by side, their metrics table and warnings, the same for every caller."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bachlstm import ui_helpers as ui
from bachlstm.checkpoints import load_checkpoint
from bachlstm.generation import checkpoint_reference
from bachlstm.primer import primer_from_melody

CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"
KNOBS = {"k": 8, "k_t": 1.0, "p": 0.9, "p_t": 1.0, "t": 1.0}  # the Sampling page's defaults

# compare_methods(checkpoint, the four default methods, the opening (2 bars) of the first held-out
# chorale, length=128, seed=0, the held-out reference) as produced before the comparison layer moved
# out of ui_helpers (main at 137e724). Rows are the table's, in COLUMNS order; None is a missing value.
# fmt: off
COLUMNS = ('method', 'samples', 'validity', 'events', 'notes', 'quarters', 'pitch_range', 'pitch_classes',
           'pc_entropy', 'scale_consistency', 'mean_interval', 'distinct_2', 'distinct_3', 'loops',
           'loop_period', 'bar_validity', 'self_perplexity', 'kl_pc', 'kl_transitions', 'memorized',
           'memorized_piece')
PINNED = {'workshop': {'primer': ('bwv139.6', 'soprano'),
              'primer_tokens': [2, 17, 31, 28, 26, 4, 21, 31, 28, 26, 4, 23, 31, 34, 26, 4, 7, 31, 34, 26, 4,
                                10, 31, 34, 26, 4, 10, 31, 34, 26, 4, 7, 31, 34, 26, 4, 23, 31, 34, 26, 4, 21,
                                31, 34, 26, 4, 10, 31, 34, 26, 4],
              'tokens': [[7, 31, 34, 26, 4, 7, 31, 34, 26, 4, 7, 31, 34, 26, 4, 7, 31, 34, 26, 4, 7, 31, 34,
                          26, 4, 7, 31, 34, 26, 4, 7, 31, 34, 26, 4, 7, 31, 34, 26, 4, 7, 31, 34, 26, 4, 7,
                          31, 34, 26, 4, 7, 31, 34, 26, 4, 7, 31, 34, 26, 4, 7, 31, 34, 26, 4, 7, 31, 34, 26,
                          4, 7, 31, 34, 26, 4, 7, 31, 34, 26, 4, 7, 31, 34, 26, 4, 7, 31, 34, 26, 4, 7, 31,
                          34, 26, 4, 7, 31, 34, 26, 4, 7, 31, 34, 26, 4, 7, 31, 34, 26, 4, 7, 31, 34, 26, 4,
                          7, 31, 34, 26, 4, 7, 31, 34, 26, 4],
                         [13, 32, 34, 26, 4, 14, 32, 28, 26, 4, 22, 31, 34, 26, 4, 10, 31, 34, 26, 4, 7, 31,
                          34, 26, 4, 7, 32, 34, 26, 4, 11, 31, 29, 26, 4, 14, 32, 34, 26, 4, 13, 32, 28, 26,
                          4, 17, 32, 34, 27, 4, 22, 31, 34, 26, 4, 7, 31, 28, 26, 4, 13, 32, 34, 26, 4, 14,
                          32, 29, 26, 4, 7, 31, 28, 26, 4, 11, 31, 28, 26, 4, 11, 32, 34, 26, 4, 10, 31, 28,
                          26, 4, 7, 32, 34, 26, 4, 10, 31, 34, 26, 4, 22, 31, 34, 26, 4, 12, 32, 34, 26, 4,
                          13, 32, 34, 26, 4, 14, 32, 34, 26, 4, 12, 32, 34, 26, 4],
                         [3],
                         [12, 32, 28, 26, 4, 11, 31, 29, 26, 4, 17, 32, 34, 26, 4, 12, 32, 34, 26, 4, 22, 31,
                          34, 26, 4, 13, 32, 34, 26, 4, 3]],
              'rows': [('greedy', 1.0, 1.0, 25.0, 25.0, 25.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.041666666666666664,
                        0.043478260869565216, 1.0, 1.0, 0.8888888888888888, 1.657871961593628,
                        2.4519989579856927, 5.772155424952742, 26.0, 'bwv369:soprano'),
                       ('top-k (k=8)', 1.0, 1.0, 25.0, 25.0, 24.5, 15.0, 8.0, 2.9268201114067494, 0.8, 5.125,
                        1.0, 1.0, 0.0, None, 0.625, 2.0882346630096436, 0.32961508192073197,
                        2.7662217654620562, 18.0, 'bwv264:soprano'),
                       ('top-p (p=0.9)', 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                        None, 1.0, 25.645462036132812, None, None, 0.0, None),
                       ('temperature (T=1)', 1.0, 1.0, 6.0, 6.0, 6.5, 9.0, 5.0, 2.2577560641285177, 1.0, 4.6,
                        1.0, 1.0, 0.0, None, 0.5, 2.2233529090881348, 1.5101587572018549, 8.135656598551343,
                        14.0, 'bwv10.7:soprano'),
                       ('Bach (held-out)', None, 1.0, 47.0, 45.6551724137931, 49.41379310344828,
                        11.89655172413793, 7.241379310344827, 2.5277781831872765, 0.9850142690435283,
                        1.8252444748686243, 0.7006442791234804, 0.844313094243372, 0.0, None, 1.0,
                        3.5151106941288917, 0.873667965269428, 2.075200273267744, 34.13793103448276,
                        'bwv9.7:soprano')],
              'warnings': ['greedy: ends in a loop (the same note 6 or more times in a row).',
                           'top-p: no notes at all (only rests, or nothing before the end token).']},
 'bach': {'primer': ('bwv149.7', 'soprano'),
          'primer_tokens': [2, 111, 75, 69, 35, 294, 222, 199, 75, 35, 35, 296, 111],
          'tokens': [[75, 69, 35, 296, 296, 75, 35, 69, 111, 111, 75, 69, 35, 296, 296, 75, 35, 69, 111, 111,
                      75, 69, 35, 296, 296, 75, 35, 69, 111, 111, 75, 69, 35, 296, 296, 75, 35, 69, 111, 111,
                      75, 69, 35, 296, 296, 75, 35, 69, 111, 111, 75, 69, 35, 296, 296, 75, 35, 69, 111, 111,
                      75, 69, 35, 296, 296, 75, 35, 69, 111, 111, 75, 69, 35, 296, 296, 75, 35, 69, 111, 111,
                      75, 69, 35, 296, 296, 75, 35, 69, 111, 111, 75, 69, 35, 296, 296, 75, 35, 69, 111, 111,
                      75, 69, 35, 296, 296, 75, 35, 69, 111, 111, 75, 69, 35, 296, 296, 75, 35, 69, 111, 111,
                      75, 69, 35, 296, 296, 75],
                     [75, 111, 69, 35, 35, 75, 69, 69, 109, 159, 208, 75, 164, 161, 75, 111, 111, 69, 161, 75,
                      111, 111, 69, 208, 75, 159, 206, 255, 161, 111, 75, 69, 35, 298, 75, 161, 208, 255, 111,
                      75, 161, 208, 159, 109, 67, 109, 75, 161, 208, 111, 208, 75, 162, 109, 113, 75, 3],
                     [75, 67, 33, 69, 111, 111, 75, 67, 33, 294, 222, 69, 111, 75, 161, 161, 111, 35, 75, 35,
                      35, 35, 69, 75, 111, 111, 161, 208, 75, 255, 208, 161, 161, 75, 113, 69, 296, 75, 35,
                      69, 111, 111, 75, 69, 35, 296, 296, 75, 37, 296, 296, 75, 111, 111, 35, 67, 33, 75, 296,
                      35, 35, 69, 75, 111, 111, 161, 111, 75, 69, 33, 67, 111, 161, 75, 210, 161, 161, 75,
                      111, 69, 111, 159, 109, 75, 71, 312, 161, 75, 161, 111, 69, 35, 75, 71, 312, 296, 75,
                      35, 69, 111, 69, 75, 37, 35, 208, 75, 208, 161, 111, 69, 75, 35, 111, 161, 208, 75, 164,
                      208, 75, 161, 111, 69, 33, 67, 75],
                     [75, 69, 33, 67, 109, 67, 35, 75, 298, 111, 161, 75, 208, 233, 35, 69, 75, 111, 111, 159,
                      206, 233, 75, 208, 161, 111, 111, 75, 72, 161, 75, 208, 233, 35, 67, 33, 75, 296, 35,
                      69, 109, 159, 75, 163, 71, 75, 113, 312, 111, 75, 161, 189, 69, 111, 75, 161, 111, 69,
                      33, 67, 75, 109, 57, 36, 294, 111, 75, 67, 33, 296, 296, 224, 75, 199, 199, 154, 75,
                      161, 233, 208, 161, 75, 113, 69, 199, 75, 35, 69, 111, 161, 75, 208, 161, 111, 35, 75,
                      111, 69, 36, 294, 75, 296, 69, 111, 111, 75, 35, 69, 111, 159, 109, 75, 71, 35, 75,
                      3]],
          'rows': [('greedy', 1.0, 1.0, 100.0, 100.0, 100.0, 5.0, 4.0, 1.9994227679976009, 1.0,
                    1.2525252525252526, 0.08080808080808081, 0.08163265306122448, 1.0, 8.0, 1.0,
                    1.8143328428268433, 0.7727673648385999, 1.6598717957443538, 10.0, 'bwv255:soprano'),
                   ('top-k (k=8)', 1.0, 1.0, 44.0, 44.0, 44.0, 10.0, 7.0, 2.5071656219258105, 1.0,
                    1.9069767441860466, 0.7674418604651163, 0.9285714285714286, 0.0, None, 1.0,
                    3.7353672981262207, 0.4596890655029398, 1.4537771762497806, 7.0, 'bwv248.12-2:soprano'),
                   ('top-p (p=0.9)', 1.0, 1.0, 99.0, 97.0, 100.0, 11.0, 8.0, 2.558667704926332,
                    0.9896907216494846, 1.625, 0.5102040816326531, 0.7731958762886598, 0.0, None, 1.0,
                    3.3157918453216553, 0.3015124260640824, 0.8374604283704641, 9.0, 'bwv378:soprano'),
                   ('temperature (T=1)', 1.0, 1.0, 91.0, 90.0, 91.0, 16.0, 9.0, 2.7490196630983443,
                    0.9777777777777777, 2.157303370786517, 0.6666666666666666, 0.8651685393258427, 0.0, None,
                    1.0, 4.980140686035156, 0.2990170461226813, 1.087606528277712, 8.0, 'bwv112.5:soprano'),
                   ('Bach (held-out)', None, 1.0, 54.02777777777778, 53.583333333333336, 54.638888888888886,
                    12.5, 7.444444444444445, 2.582423777423063, 0.9752773120635074, 1.8850928872586883,
                    0.7092694116297562, 0.8653809600878282, 0.0, None, 0.9928240740740741, 5.577318516042498,
                    0.6866107927240227, 1.7888989985994448, 9.194444444444445, 'bwv248.9-s:soprano')],
          'warnings': ['greedy: ends in a loop (the same 8-note phrase 3 or more times in a row).']}}
# fmt: on


def _compare(name: str):
    """(primer tokens, tokens per method, table rows as tuples, warnings) for a shipped checkpoint."""
    ckpt = load_checkpoint(name)
    ref = checkpoint_reference(ckpt)
    piece, voice = PINNED[name]["primer"]
    melody = next(m for m in ref.melodies if (m.piece_id, m.voice) == (piece, voice))
    res = ui.compare_methods(
        ckpt, ui.sampling_configs(KNOBS), primer=primer_from_melody(melody, bars=2), length=128, seed=0,
        reference=ref,
    )  # fmt: skip
    table = res["table"]
    assert tuple(table.columns) == COLUMNS
    rows = [tuple(r) for r in table.astype(object).itertuples(index=False)]
    return res["gens"][0].primer_tokens, [g.tokens for g in res["gens"]], rows, res["warnings"]


def _same(value, pinned) -> bool:
    if pinned is None:
        return value is None or (isinstance(value, float) and math.isnan(value))
    if isinstance(pinned, float):
        return value == pytest.approx(pinned, rel=1e-6, abs=1e-9)
    return value == pinned


@pytest.mark.parametrize("name", ["workshop", "bach"])
def test_pinned_comparison_table_and_tokens(name, one_thread):
    """One seed and chorale primer give these tokens, table and warnings, before and after any move."""
    if not (CHECKPOINTS / f"{name}.safetensors").exists():
        pytest.skip(f"{name}.safetensors is not shipped")
    primer_tokens, tokens, rows, warnings = _compare(name)
    pinned = PINNED[name]
    assert primer_tokens == pinned["primer_tokens"]
    assert tokens == pinned["tokens"]
    assert len(rows) == len(pinned["rows"])
    for row, want in zip(rows, pinned["rows"]):
        bad = [(c, v, w) for c, v, w in zip(COLUMNS, row, want) if not _same(v, w)]
        assert not bad, f"{row[0]}: {bad}"
    assert warnings == pinned["warnings"]
