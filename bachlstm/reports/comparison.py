"""The sampling methods side by side: their melodies, metrics table and warnings, the held-out Bach
reference and the next-token explanation; the one implementation the CLI and the Sampling page share.

Results are dataclasses; the metrics of one melody stay `metrics.melody_metrics` dicts (keys in
`metrics.METRIC_COLUMNS` order) and the table a pandas DataFrame with those columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
import torch

from bachlstm.analysis.metrics import (
    METRIC_COLUMNS,
    Reference,
    build_reference,
    mean_row,
    melody_metrics,
    reference_metrics,
    self_perplexities,
)
from bachlstm.analysis.style import (
    BOOTSTRAP,
    NoteRunIndex,
    SharedRun,
    StyleBaseline,
    StyleReport,
    melody_profile,
    style_baseline,
    style_report,
)
from bachlstm.generation.generator import DEFAULT_MIN_LENGTH, Generation, generate
from bachlstm.generation.sampling import METHODS, SamplingConfig, apply_mask, bool_mask, process_logits
from bachlstm.model.checkpoints import Checkpoint
from bachlstm.model.short_term import short_term_log_probs
from bachlstm.music.events import Event, Melody
from bachlstm.music.tonality import estimate_key
from bachlstm.tokens.grammar import grammar_of
from bachlstm.training.splits import melody_key, split_melodies

BACH_ROW = "Bach (held-out)"  # the method name of the reference row
MIN_COPY = 16  # tokens: a shorter run shared with a training melody is a common phrase, not a copy


# ----------------------------------------------------------------------------------------------------
# The four methods from their knobs


@dataclass(frozen=True)
class Knobs:
    """The knobs of the four methods: the Sampling page's sliders and the CLI's flags.

    Each stochastic method has its own temperature; min_p and typical_p cut in every stochastic method
    (off at 0 and 1), the two penalties apply to all four (off at 1 and 0). Checked when the configs
    are built (`sampling_configs`).
    """

    k: int = 8
    k_temperature: float = 1.0
    p: float = 0.9
    p_temperature: float = 1.0
    temperature: float = 1.0
    min_p: float = 0.0
    typical_p: float = 1.0
    repetition_penalty: float = 1.0
    no_repeat_ngram: int = 0


def sampling_configs(knobs: Knobs) -> list[SamplingConfig]:
    """The SamplingConfigs of greedy, top-k, top-p and temperature (`sampling.METHODS` order).

    Greedy takes only the penalties: a cut or a temperature does not change an argmax. Raises
    SamplingConfigError (a ValueError) naming the bad knob.
    """
    penalties = {"repetition_penalty": knobs.repetition_penalty, "no_repeat_ngram": knobs.no_repeat_ngram}
    cuts = {"min_p": knobs.min_p, "typical_p": knobs.typical_p, **penalties}
    return [
        SamplingConfig("greedy", **penalties),
        SamplingConfig("top-k", k=knobs.k, temperature=knobs.k_temperature, **cuts),
        SamplingConfig("top-p", p=knobs.p, temperature=knobs.p_temperature, **cuts),
        SamplingConfig("temperature", temperature=knobs.temperature, **cuts),
    ]


def method_config(knobs: Knobs, method: str) -> SamplingConfig:
    """The SamplingConfig of one method, the same one `sampling_configs` gives it; ValueError if unknown."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return sampling_configs(knobs)[METHODS.index(method)]


# ----------------------------------------------------------------------------------------------------
# Metrics of generations, the held-out reference and the table


def generation_metrics(
    gen: Generation, *, model=None, reference: Reference | None = None, perplexity: float | None = None
) -> dict:
    """`metrics.melody_metrics` of one Generation: its continuation, with the primer for bar validity.

    `model` (an LSTMModel) adds self-perplexity (or `perplexity`, computed already), `reference` the KL
    divergences and memorization.
    """
    return melody_metrics(
        gen.events,
        n_groups=gen.n_groups,
        n_invalid=gen.n_invalid,
        primer=gen.primer_events,
        tokens=gen.full_tokens,
        token_start=len(gen.primer_tokens),
        model=model,
        reference=reference,
        perplexity=perplexity,
    )


@dataclass
class CheckpointReference:
    """Held-out ("test") melodies of a checkpoint's split, their Reference and the "Bach" metrics row,
    and the whole split (train for copies in notes, val for the noise floor; see style.style_report)."""

    melodies: list[Melody]
    reference: Reference
    bach: dict  # reference_metrics of the held-out melodies (keys: metrics.METRIC_COLUMNS)
    parts: dict[str, list[Melody]] | None = None  # "train", "val", "test"
    # the style baselines made for this reference, per (n_boot, seed): `style_baseline_of` keeps them here
    baselines: dict[tuple[int, int], StyleBaseline] = field(default_factory=dict, repr=False, compare=False)


def checkpoint_reference(
    checkpoint: Checkpoint,
    *,
    split: str = "test",
    max_melodies: int | None = None,
    melodies: Sequence[Melody] | None = None,
) -> CheckpointReference:
    """Reference values from the real held-out melodies recorded in a checkpoint's split.

    KL divergences compare with the held-out pool, memorization searches the split's training
    melodies (tokenized with the checkpoint's tokenizer), and the Bach row scores each held-out melody
    the same way (leave-one-out for the KL divergences). `melodies` replaces the corpus selection the
    split's ids are looked up in. ValueError if the checkpoint has no split or the split is empty.
    """
    parts = split_melodies(checkpoint.meta, melodies)
    heldout = parts[split][:max_melodies] if max_melodies else parts[split]
    if not heldout:
        raise ValueError(f"the checkpoint's {split!r} split is empty")
    tok = checkpoint.tokenizer
    training = [(melody_key(m), tok.encode(m.events)) for m in parts["train"]]
    reference = build_reference(heldout, training_tokens=training)
    bach = reference_metrics(heldout, reference, tokenizer=tok, model=checkpoint.model)
    return CheckpointReference(melodies=list(heldout), reference=reference, bach=bach, parts=parts)


def comparison_table(
    gens: Sequence[Generation], checkpoint: Checkpoint, reference: CheckpointReference | None = None
) -> pd.DataFrame:
    """One row per sampling config (the mean over its samples), then the Bach row if `reference` is given.

    Columns: method, samples, then `metrics.METRIC_COLUMNS` ("loops" is the share of samples that loop).
    The Bach row's samples are the held-out melodies it averages.
    """
    ref = reference.reference if reference else None
    perplexities = self_perplexities(
        checkpoint.model, [g.full_tokens for g in gens], [len(g.primer_tokens) for g in gens]
    )  # one forward pass for all columns
    scores = [generation_metrics(g, reference=ref, perplexity=p) for g, p in zip(gens, perplexities)]
    return _table(gens, scores, reference)


def _table(
    gens: Sequence[Generation], scores: Sequence[dict], reference: CheckpointReference | None
) -> pd.DataFrame:
    by_config: dict[SamplingConfig, list[dict]] = {}
    for g, s in zip(gens, scores):
        by_config.setdefault(g.config, []).append(s)
    rows = [{"method": cfg.label, "samples": len(ms), **mean_row(ms)} for cfg, ms in by_config.items()]
    if reference is not None:
        rows.append({"method": BACH_ROW, "samples": len(reference.melodies), **reference.bach})
    return pd.DataFrame(rows, columns=["method", "samples", *METRIC_COLUMNS])


# ----------------------------------------------------------------------------------------------------
# Warnings


@dataclass(frozen=True)
class GenerationWarning:
    """A plain-language warning about one generated melody."""

    label: str  # the melody: its method ("greedy"), with the sample number when there are several
    kind: str  # "no notes", "loop" or "copy"
    text: str  # the English sentence (the command line's), starting with the label
    values: tuple[tuple[str, object], ...] = ()  # what a page words: period, times; tokens or notes, piece

    def __str__(self) -> str:
        return self.text


def memorization_threshold(bach: dict | None) -> int:
    """Copies at least this long (tokens) are flagged: twice what real held-out Bach shares, at least 16.

    `bach` is a CheckpointReference's Bach row (None without a reference: then 16).
    """
    shared = (bach or {}).get("memorized")
    return max(MIN_COPY, int(2 * shared)) if shared else MIN_COPY


def generation_warnings(label: str, row: dict, threshold: int) -> list[GenerationWarning]:
    """Warnings for one melody's metrics `row`: no notes, a loop at its end, a copy >= `threshold` tokens."""
    out = []
    if not row.get("notes"):
        text = f"{label}: no notes at all (only rests, or nothing before the end token)."
        out.append(GenerationWarning(label, "no notes", text))
    if row.get("loops"):
        period = int(row.get("loop_period") or 1)
        # metrics.find_loop's rule: at least 3 repeats covering at least 6 notes (so one note, 6 times)
        times = max(3, -(-6 // period))
        what = "note" if period == 1 else f"{period}-note phrase"
        text = f"{label}: ends in a loop (the same {what} {times} or more times in a row)."
        out.append(GenerationWarning(label, "loop", text, (("period", period), ("times", times))))
    copied = row.get("memorized")
    if copied is not None and copied >= threshold:
        text = (
            f"{label}: copies {copied:.0f} consecutive tokens of the training piece "
            f"{row.get('memorized_piece')} (real held-out Bach shares fewer): memorised, not composed."
        )
        values = (("tokens", int(copied)), ("piece", row.get("memorized_piece")))
        out.append(GenerationWarning(label, "copy", text, values))
    return out


# ----------------------------------------------------------------------------------------------------
# The comparison


@dataclass
class Comparison:
    """The methods side by side: what `compare_methods` generated and what it found."""

    generations: list[Generation]  # config 0 samples 0..n-1, config 1 ...
    metrics: list[dict]  # generation_metrics of each generation, same order
    table: pd.DataFrame  # comparison_table's rows (+ "invalid_unmasked" when asked for)
    warnings: list[GenerationWarning]  # in generation order
    reference: CheckpointReference | None = None
    style: StyleReport | None = None  # the methods' pools against held-out Bach (with a reference)
    profiles: list[dict] | None = None  # melody_figures of each generation (with a reference)

    @property
    def rows(self) -> list[dict]:
        """The table's rows of the configs (the Bach row left out), as dicts."""
        n_configs = len(dict.fromkeys(g.config for g in self.generations))
        return self.table.to_dict("records")[:n_configs]


def compare_methods(
    checkpoint: Checkpoint,
    configs: Sequence[SamplingConfig],
    *,
    primer: Sequence[Event] | None = None,
    length: int = 128,
    min_length: int | None = None,
    max_notes: int | None = None,
    cadence: bool = False,
    close_after: int | None = None,
    seed: int = 0,
    samples: int = 1,
    constrained: bool = True,
    reference: CheckpointReference | None = None,
    unmasked: bool = False,
    n_boot: int = BOOTSTRAP,
) -> Comparison:
    """Generate `samples` melodies per config in one batch, score them, table them and warn.

    `min_length`: notes each melody must have after the primer before it may end (generate()'s); None
    is the dashboard's and the command line's default, `generation.DEFAULT_MIN_LENGTH` notes (at most
    `length`). `max_notes`: the most notes a melody may have (generate()'s; None: only `length`); `cadence`:
    generate()'s (melodies end only where they close on the tonic, on a strong beat); `close_after`:
    generate()'s (with `cadence`, the notes after which a melody ends at its next closing point).
    `reference` (a CheckpointReference) adds KL divergences, memorization, the Bach row and a copy
    threshold from it. With `unmasked` the same settings are also generated without the grammar mask
    and the table gets an "invalid_unmasked" column (third): the share of token groups that would not
    decode. Warnings are per melody; with several samples the label carries the sample number. With a
    reference that carries its split, `style` pools the samples per config (`n_boot` bootstrap
    resamples for the 95% intervals) and `profiles` holds each melody's own figures.
    Errors are generate()'s (ValueError, generation.PrimerError).
    """
    if min_length is None:
        min_length = min(DEFAULT_MIN_LENGTH, length) if isinstance(length, int) else 0
        if isinstance(max_notes, int):
            min_length = min(min_length, max_notes)
    settings = dict(
        primer=primer,
        length=length,
        min_length=min_length,
        max_notes=max_notes,
        cadence=cadence,
        close_after=close_after,
        seed=seed,
        samples=samples,
    )
    gens = generate(checkpoint, configs, constrained=constrained, **settings)
    ref = reference.reference if reference else None
    perplexities = self_perplexities(
        checkpoint.model, [g.full_tokens for g in gens], [len(g.primer_tokens) for g in gens]
    )  # one forward pass for all columns
    scores = [generation_metrics(g, reference=ref, perplexity=p) for g, p in zip(gens, perplexities)]
    table = _table(gens, scores, reference)
    if unmasked:
        free = generate(checkpoint, configs, constrained=False, **settings)
        shares = {label: share for label, share, _ in _invalid_shares(free)}
        table.insert(2, "invalid_unmasked", [shares.get(m) for m in table["method"]])
    threshold = memorization_threshold(reference.bach if reference else None)
    style, profiles = None, None
    if reference is not None and reference.parts is not None:
        style = style_comparison(gens, reference, n_boot=n_boot, seed=seed)
        index = style_baseline_of(reference, n_boot=n_boot).index
        profiles = [melody_figures(g.events, index) for g in gens]
    warnings = []
    for k, (g, score) in enumerate(zip(gens, scores)):
        label = g.config.method if samples == 1 else f"{g.config.method} #{g.sample + 1}"
        found = generation_warnings(label, score, threshold)
        if profiles is not None:  # copies judged in notes, above what held-out Bach shares by chance
            found = [w for w in found if w.kind != "copy"]
            found += note_copy_warning(label, profiles[k], style.memorization_floor)
        warnings += found
    return Comparison(gens, scores, table, warnings, reference, style, profiles)


def note_copy_warning(label: str, figures: dict, floor: int) -> list[GenerationWarning]:
    """A "copy" warning when a melody repeats more notes of one training melody (intervals and
    durations, in any key; `melody_figures`) than any held-out Bach melody does by chance (`floor`)."""
    notes = figures.get("copy_notes") or 0
    if notes <= floor:
        return []
    text = (
        f"{label}: repeats {notes} notes of the training melody {figures.get('copy_piece')} (the same "
        f"intervals and durations, in any key; held-out Bach shares at most {floor}): memorised, not "
        "composed."
    )
    values = (("notes", int(notes)), ("piece", figures.get("copy_piece")), ("floor", floor))
    return [GenerationWarning(label, "copy", text, values)]


def style_baseline_of(
    reference: CheckpointReference, *, n_boot: int = BOOTSTRAP, seed: int = 0
) -> StyleBaseline:
    """The Bach side of the style comparison for one reference, made once and kept (it costs about
    0.3 s: the copy floor, the note-run index and the Bach row's bootstrap, none of which depends on
    what was generated; its bootstrap is seeded `seed`, 0 by default, whatever the Generate seed).
    Raises ValueError for a reference without its split."""
    if reference.parts is None:
        raise ValueError("this reference carries no split: no style comparison")
    made = reference.baselines.get((n_boot, seed))
    if made is None:  # kept by the reference itself: it lives as long as the page keeps the reference
        parts = reference.parts
        made = style_baseline(
            train=parts["train"], val=parts["val"], test=parts["test"], n_boot=n_boot, seed=seed
        )
        reference.baselines[(n_boot, seed)] = made
    return made


def style_comparison(
    gens: Sequence[Generation], reference: CheckpointReference, *, n_boot: int = BOOTSTRAP, seed: int = 0
) -> StyleReport:
    """The generated continuations pooled per config (style.style_report): key-normalised divergences
    at equal length, closure, copies in notes, each with a bootstrap 95% interval, beside Bach
    validation (the noise floor). Identical samples (greedy's) count once. The Bach side is made once
    per reference (`style_baseline_of`)."""
    pools: dict[str, list] = {}
    for g in gens:
        pools.setdefault(g.config.label, []).append(list(g.events))
    baseline = style_baseline_of(reference, n_boot=n_boot)
    return style_report(pools, n_boot=n_boot, seed=seed, baseline=baseline)


def melody_figures(events: Sequence[Event], index: NoteRunIndex) -> dict:
    """Per-melody figures for one column: style.melody_profile, the estimated key's name, and the
    longest run of notes shared with a training melody ("copy_notes", "copy_piece")."""
    key = estimate_key(events)
    run = index.longest_shared(events) if events else SharedRun(0, None, 0, 0)
    return {**melody_profile(events), "key": key.name if key else "", "copy_notes": run.notes,
            "copy_piece": run.piece_id}  # fmt: skip


def _invalid_shares(gens: Sequence[Generation]) -> list[tuple[str, float, int]]:
    """Per config (in order): (label, invalid token groups / groups over its samples (0 if none), groups)."""
    groups: dict[SamplingConfig, list[int]] = {}
    for g in gens:
        counts = groups.setdefault(g.config, [0, 0])
        counts[0] += g.n_groups
        counts[1] += g.n_invalid
    return [(cfg.label, bad / n if n else 0.0, n) for cfg, (n, bad) in groups.items()]


@dataclass(frozen=True)
class MaskEffect:
    """One config's share of token groups that do not decode, with and without the grammar mask."""

    method: str  # the config's label
    invalid_masked: float
    invalid_unmasked: float
    groups_masked: int
    groups_unmasked: int


def validity_report(
    checkpoint: Checkpoint,
    configs: Sequence[SamplingConfig],
    *,
    primer: Sequence[Event] | None = None,
    length: int = 256,
    seed: int = 0,
    samples: int = 4,
) -> list[MaskEffect]:
    """Per config: invalid token groups with and without the grammar mask (same seed, same settings)."""
    runs = [
        _invalid_shares(
            generate(
                checkpoint, configs, primer=primer, length=length, seed=seed, samples=samples, constrained=c
            )
        )
        for c in (True, False)
    ]
    return [
        MaskEffect(label, masked, unmasked, n_masked, n_unmasked)
        for (label, masked, n_masked), (_, unmasked, n_unmasked) in zip(*runs)
    ]


# ----------------------------------------------------------------------------------------------------
# The next-token explanation


@dataclass(frozen=True)
class NextToken:
    """The model's next-token distribution after a context, and what each config keeps of it."""

    configs: tuple[SamplingConfig, ...]
    cuts: tuple[CutExplanation, ...]  # one per config: before (model, grammar-masked), after, kept
    vocab: tuple[str, ...]

    def frame(self, top: int = 12) -> pd.DataFrame:
        """Long DataFrame: method, token_id, token, before, after, kept, rank (by the model's
        probability); the `top` most likely tokens per config."""
        frames = []
        for cfg, cut in zip(self.configs, self.cuts):
            f = cut.to_frame(self.vocab, top=top)
            f.insert(0, "method", cfg.label)
            frames.append(f)
        return pd.concat(frames, ignore_index=True)


def next_token(
    checkpoint: Checkpoint,
    tokens: Sequence[int],
    configs: Sequence[SamplingConfig],
    *,
    constrained: bool = True,
) -> NextToken:
    """The next-token distribution after `tokens` (BOS first, as Generation.full_tokens) per config.

    With `constrained` the grammar's mask applies (as in generation); the tokens after BOS are the
    history of the repetition penalties. GrammarError if `tokens` break the grammar.
    """
    tok = checkpoint.tokenizer
    tokens = list(tokens)
    with torch.inference_mode():
        logits = checkpoint.model(torch.tensor([tokens], dtype=torch.long))[0][0]  # (T, V)
    logits = short_term_log_probs(checkpoint.config, tokens, logits)[-1]  # (V,): what generation sees
    mask = None
    if constrained:
        grammar = grammar_of(tok)  # cached: building a grammar's masks is the slow part
        mask = torch.tensor(grammar.allowed(grammar.state_after(tokens)), dtype=torch.bool)
    cuts = tuple(explain(logits, cfg, mask=mask, history=tokens[1:]) for cfg in configs)
    return NextToken(tuple(configs), cuts, tuple(tok.vocab))


def next_token_frame(
    checkpoint: Checkpoint,
    tokens: Sequence[int],
    configs: Sequence[SamplingConfig],
    *,
    constrained: bool = True,
    top: int = 12,
) -> pd.DataFrame:
    """`next_token(...).frame(top)`: the explorer's long DataFrame of the `top` tokens per config."""
    return next_token(checkpoint, tokens, configs, constrained=constrained).frame(top)


# ----------------------------------------------------------------------------------------------------
# What a method keeps of one distribution (the next-token explorer)


@dataclass(frozen=True)
class CutExplanation:
    """One row's distribution before (model, grammar-masked, T=1) and after (what is sampled) a config."""

    before: torch.Tensor  # (V,) probabilities
    after: torch.Tensor  # (V,) probabilities, zero where cut
    kept: torch.Tensor  # (V,) bool

    @property
    def n_kept(self) -> int:
        """Number of tokens that can still be drawn."""
        return int(self.kept.sum())

    @property
    def kept_mass(self) -> float:
        """Share of the model's probability that survives the cut."""
        return float(self.before[self.kept].sum())

    def to_frame(self, vocab: Sequence[str] | None = None, top: int | None = None):
        """pandas DataFrame (token_id, token, before, after, kept, rank) sorted by `before`, top rows only."""
        order = torch.sort(self.before, descending=True, stable=True).indices
        if top is not None:
            order = order[:top]
        ids = order.tolist()
        return pd.DataFrame(
            {
                "token_id": ids,
                "token": [vocab[i] if vocab is not None else str(i) for i in ids],
                "before": self.before[order].tolist(),
                "after": self.after[order].tolist(),
                "kept": self.kept[order].tolist(),
                "rank": list(range(1, len(ids) + 1)),
            }
        )


def explain(
    logits: torch.Tensor,
    config: SamplingConfig,
    *,
    mask: torch.Tensor | None = None,
    history: Sequence[int] | None = None,
) -> CutExplanation:
    """Probabilities before and after `config`'s processing for one row of logits (V,) or (1, V)."""
    row = logits.reshape(1, -1).float()
    m = None if mask is None else bool_mask(mask).reshape(1, -1)
    before = torch.softmax(apply_mask(row, m), dim=-1)[0]
    hist = None if history is None else [list(history)]
    after = torch.softmax(process_logits(row, config, mask=m, history=hist), dim=-1)[0]
    return CutExplanation(before=before, after=after, kept=after > 0)


def entropy_bits(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy in bits of each row of probs (..., V); zeros contribute nothing."""
    logp = torch.where(probs > 0, probs.log2(), torch.zeros_like(probs))
    return -(probs * logp).sum(-1)
