"""The music the shipped models make, pinned: same checkpoint, primer, knobs and seed, same tokens and table.

For both shipped models, the opening (2 bars) of the first held-out chorale as primer, the Sampling
page's Generate (`compare_methods`: the four methods, 128 tokens, the default minimum length, the
held-out reference) for seeds 0 and 1 with the page's default knobs, and seed 0 with every extra knob
set (temperatures other than 1, min-p, typical, both penalties). Tokens must be identical, figures
equal to 1e-9. The expected values were written by main at 7d2b30d (before the sampler applied the
readable filters and generation stopped using ONNX Runtime) with

    PYTHONPATH=. python -m tests.generation.test_pinned_generation --write

Rewrite them only for a change that is meant to change the music, and say so in the commit.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).with_name("pinned_generation.json")
MODELS = ("workshop", "bach")
# (case name, seed, knobs): the page's defaults twice, then every knob away from its off-value once.
EXTRA_KNOBS = dict(
    k=5, k_temperature=0.8, p=0.95, p_temperature=1.2, temperature=1.5, min_p=0.05, typical_p=0.95,
    repetition_penalty=1.2, no_repeat_ngram=4,
)  # fmt: skip
CASES = (("defaults, seed 0", 0, {}), ("defaults, seed 1", 1, {}), ("extra knobs, seed 0", 0, EXTRA_KNOBS))

pytestmark = pytest.mark.usefixtures("one_thread")  # a batch of 4 rows: one torch thread is fastest


def produce(name: str) -> dict:
    """What the pinned cases give for one shipped model now: primer, then per case the tokens of each
    method, the table's rows (NaN as None) and the warnings."""
    from bachlstm.generation.primer import primer_from_melody
    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.reports.comparison import Knobs, checkpoint_reference, compare_methods, sampling_configs

    ckpt = load_checkpoint(name)
    ref = checkpoint_reference(ckpt)
    melody = ref.melodies[0]
    primer = primer_from_melody(melody, bars=2)
    out = {"primer": [melody.piece_id, melody.voice], "cases": {}}
    for case, seed, knobs in CASES:
        res = compare_methods(ckpt, sampling_configs(Knobs(**knobs)), primer=primer, length=128, seed=seed,
                              reference=ref)  # fmt: skip
        out["primer_tokens"] = res.generations[0].primer_tokens
        rows = [[_plain(v) for v in row] for row in res.table.astype(object).itertuples(index=False)]
        out["cases"][case] = {
            "methods": [g.config.label for g in res.generations],
            "tokens": [g.tokens for g in res.generations],
            "columns": list(res.table.columns),
            "rows": rows,
            "warnings": [w.text for w in res.warnings],
        }
    return out


def _plain(value):
    """A JSON value: NaN (a missing figure) as None, numpy scalars as Python numbers."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _same(value, pinned) -> bool:
    missing = value is None or isinstance(value, float) and math.isnan(value)
    if pinned is None or missing:
        return pinned is None and missing
    if isinstance(pinned, float):
        return isinstance(value, float) and math.isclose(value, pinned, rel_tol=1e-9, abs_tol=1e-9)
    return value == pinned


@pytest.mark.parametrize("name", MODELS)
def test_shipped_models_make_the_pinned_music(name):
    pinned = json.loads(GOLDEN.read_text())[name]
    got = produce(name)
    assert got["primer"] == pinned["primer"]
    assert got["primer_tokens"] == pinned["primer_tokens"]
    assert list(got["cases"]) == list(pinned["cases"])
    for case, want in pinned["cases"].items():
        have = got["cases"][case]
        assert have["methods"] == want["methods"], case
        for method, tokens, wanted in zip(want["methods"], have["tokens"], want["tokens"]):
            assert tokens == wanted, f"{case}: {method}"
        assert have["columns"] == want["columns"], case
        assert len(have["rows"]) == len(want["rows"]), case
        for row, wanted in zip(have["rows"], want["rows"]):
            bad = [(c, v, w) for c, v, w in zip(want["columns"], row, wanted) if not _same(v, w)]
            assert not bad, f"{case}, {row[0]}: {bad}"
        assert have["warnings"] == want["warnings"], case


def test_a_changed_figure_or_token_fails():
    """The comparison itself can fail: one token, a figure moved by 1e-8, a missing value filled."""
    assert _same(2.5, 2.5) and _same(None, None) and _same(float("nan"), None) and _same(3, 3)
    assert not _same(2.5 + 1e-8, 2.5)
    assert not _same(1.0, None) and not _same(None, 1.0)
    assert not _same(1, 1.0)  # a count that became a float is a change


def _dumps(value, indent: str = "") -> str:
    """JSON with one line per list of plain values (a method's tokens, a table row), so diffs are short."""
    if isinstance(value, dict):
        inner = indent + " "
        items = [f"{inner}{json.dumps(k)}: {_dumps(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        inner = indent + " "
        return "[\n" + ",\n".join(inner + _dumps(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value)


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: PYTHONPATH=. python -m tests.generation.test_pinned_generation --write")
    import torch

    torch.set_num_threads(1)
    GOLDEN.write_text(_dumps({name: produce(name) for name in MODELS}) + "\n")
    print(f"wrote {GOLDEN}")
