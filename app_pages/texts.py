"""What the pages say: teaching and help texts, explanations, and values written out for a reader.

Plain text and tables beside the pages (no streamlit calls here). Texts are English message ids: module
constants are marked with `N_` and translated where a page shows them (`_(NOTE_FIGURES_HELP)`), functions
return them translated (app_pages/i18n.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import pandas as pd

from app_pages.i18n import N_, current_language, ngettext, number, percent, translator
from app_pages.messages import checkpoint_problem, format_seconds, method_label, notice_template, voice_words
from bachlstm.analysis.literature import PUBLISHED
from bachlstm.training import jobs

_ = translator(__name__)


def pipeline_dot() -> str:
    """The pipeline picture on the home page (Graphviz DOT, drawn by the browser), in the page's language."""
    labels = {
        "corpus": _("music21\nBach corpus"),
        "select": _("selection\n4/4, voice, length"),
        "tokens": _("tokens\nnotes + rests"),
        "lstm": _("LSTM\nembedding -> LSTM stack"),
        "sampling": _("sampling\ngreedy | top-k | top-p | T"),
        "midi": _("MIDI, sheet music,\naudio"),
        "next": _(" next token"),
    }
    q = {k: v.replace('"', "'").replace("\n", "\\n") for k, v in labels.items()}
    return f"""
digraph pipeline {{
  rankdir=TB; bgcolor="transparent"; nodesep=0.3; ranksep=0.3;
  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", color="#4a6fa5", fontname="Helvetica"];
  edge [color="#4a6fa5", fontname="Helvetica", fontsize=10];
  corpus [label="{q["corpus"]}"]; select [label="{q["select"]}"];
  tokens [label="{q["tokens"]}"]; lstm [label="{q["lstm"]}"];
  sampling [label="{q["sampling"]}"]; midi [label="{q["midi"]}"];
  corpus -> select -> tokens -> lstm -> sampling -> midi;
  lstm -> tokens [label="{q["next"]}", style=dashed, constraint=false];
}}
"""


# A training job's status in words (the sidebar, the queue).
JOB_STATUS_WORDS = {
    jobs.QUEUED: N_("queued"),
    jobs.RUNNING: N_("running"),
    jobs.STOPPING: N_("stopping"),
    jobs.DONE: N_("done"),
    jobs.FAILED: N_("failed"),
    jobs.STOPPED: N_("stopped"),
}


def job_status_words(status: str) -> str:
    """A job's status ('running') in the page's language."""
    return _(JOB_STATUS_WORDS[status]) if status in JOB_STATUS_WORDS else status


# A teacher's one-line explanation of each Training form field (forms.TRAINING_FIELDS), its help tooltip.
TRAINING_HELP = {
    "epochs": N_("Passes over all training windows. More epochs fit the melodies better but take longer."),
    "batch_size": N_("Windows per optimizer step. Larger batches give fewer, smoother steps per epoch."),
    "lr": N_(
        "Learning rate: how big each AdamW step is. Too large and the loss jumps about; too small and "
        "it learns slowly."
    ),
    "embedding_dim": N_(
        "Length of the vector each token becomes before the LSTM (see the Corpus page's embedding panel)."
    ),
    "lstm_sizes": N_("Memory units per LSTM layer, one number per layer: '6, 12, 6' is three layers."),
    "dropouts": N_(
        "Share of units switched off at random while training, one value per LSTM layer (0 = none); "
        "it fights memorizing the training melodies."
    ),
    "hidden_linear": N_("Size of an extra dense layer between the LSTMs and the output (0 = none)."),
    "seq_len": N_("How many tokens the model sees in one training window: its context while it learns."),
    "max_melodies": N_("Train on only the first N melodies for a quicker demo (0 = all of them)."),
    "max_steps": N_("End training after this many optimizer steps, whatever the epochs say (0 = no limit)."),
    "seed": N_("The same seed and settings train the same model again."),
    "sweep": N_(
        "The values to try, e.g. '3, 8, 16' (LSTM sizes and dropouts: ';' between values, "
        "'6, 12, 6; 32, 32'). Each value becomes an ordinary saved run named after it, queued one after "
        "another with all the other settings from the form above."
    ),
}


# The Sampling page's knobs by compare.Knobs field: their labels on the page and in "made with ..." notes.
KNOB_LABELS = {
    "k": N_("top-k: k"),
    "k_temperature": N_("top-k: temperature"),
    "p": N_("top-p: p"),
    "p_temperature": N_("top-p: temperature"),
    "temperature": N_("temperature: T"),
    "min_p": N_("min-p"),
    "typical_p": N_("typical p"),
    "repetition_penalty": N_("repetition penalty"),
    "no_repeat_ngram": N_("no repeated n-gram"),
}


# What each Sampling-page knob does, in a teacher's words (the knobs' help tooltips).
KNOB_HELP = {
    "k": N_(
        "top-k: draw the next token from the k most likely ones only. k = 1 is greedy; a larger k "
        "allows more variety (and more mistakes)."
    ),
    "p": N_(
        "top-p (nucleus): draw from the fewest most-likely tokens whose probabilities add up to p. "
        "A small p plays safe; p = 1 keeps every token."
    ),
    "t": N_(
        "Temperature reshapes the probabilities before drawing: below 1 the likely tokens get likelier "
        "(safer, more repetitive), above 1 the distribution flattens (more surprising, more random)."
    ),
    "min_p": N_("Drop every token less likely than min-p times the most likely one (0 = off)."),
    "typical_p": N_(
        "Keep the tokens whose surprise is closest to the usual surprise, up to this total "
        "probability (1 = off)."
    ),
    "repetition_penalty": N_("Make tokens the melody has already used less likely (1 = off)."),
    "no_repeat_ngram": N_("Never write the same n tokens in a row twice: breaks greedy loops (0 = off)."),
    "min_length": N_(
        "The fewest notes each melody writes after the primer before it may end, like "
        "min_new_tokens in text generators but counted in notes (0 = off). Until then the end token is "
        "left out, and a rest may not follow a rest, so a model that would stop at once keeps writing."
    ),
    "constrained": N_(
        "Allow only tokens that can come next in a well-formed melody (e.g. no duration "
        "without a pitch), so every sample can be turned into notes."
    ),
}


# What each exclusion reason of selection.select() means, for the Corpus page's "what the filters exclude".
EXCLUSION_EXPLANATIONS = {
    "duplicate file": N_("a Humdrum (.krn) copy of a chorale that is also there as MusicXML; counted once"),
    "time signature": N_("some measure of some part is in a time signature you did not choose"),
    "no such voice": N_("the piece has no part of that voice (e.g. instrumental lines only)"),
    "empty part": N_("the part has no notes at all"),
    "too short": N_("fewer notes and rests than the minimum length"),
    "too long": N_("more notes and rests than the maximum length"),
}

# The selection's reasons (selection.select's codes) in words.
REASON_WORDS = {
    "selected": N_("selected"),
    "duplicate file": N_("duplicate file"),
    "time signature": N_("time signature"),
    "no such voice": N_("no such voice"),
    "empty part": N_("empty part"),
    "too short": N_("too short"),
    "too long": N_("too long"),
}


def _worded(values, words: dict) -> list:
    return [_(words[v]) if v in words else v for v in values]


def exclusion_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Selection.summary() in words, with an `explanation` column (the selected row first)."""
    out = summary.copy()
    out["explanation"] = [
        _("kept") if r == "selected" else _(EXCLUSION_EXPLANATIONS[r]) if r in EXCLUSION_EXPLANATIONS else ""
        for r in out["reason"]
    ]
    out["reason"] = _worded(out["reason"], REASON_WORDS)
    return shown_headers(out)


# The comparison's warnings about one generated melody (comparison.GenerationWarning's kind and values).
WARNING_WORDS = {
    "no notes": N_("{label}: no notes at all (only rests, or nothing before the end token)."),
    "loop": N_("{label}: ends in a loop (the same note {times} or more times in a row)."),
    "loop phrase": N_(
        "{label}: ends in a loop (the same {period}-note phrase {times} or more times in a row)."
    ),
    "copy": N_(
        "{label}: copies {tokens} consecutive tokens of the training piece {piece} (real held-out Bach "
        "shares fewer): memorised, not composed."
    ),
    "note copy": N_(
        "{label}: repeats {notes} notes of the training melody {piece} (the same intervals and durations, "
        "in any key; held-out Bach shares at most {floor}): memorised, not composed."
    ),
}


def warning_words(warning) -> str:
    """A GenerationWarning in the page's words (its English `text` where its kind has none)."""
    values = dict(warning.values)
    kind = warning.kind
    if kind == "loop" and values.get("period", 1) > 1:
        kind = "loop phrase"
    elif kind == "copy" and "notes" in values:  # the same intervals and durations, not the same tokens
        kind = "note copy"
    try:
        return _(WARNING_WORDS[kind]).format(label=method_label(warning.label), **values)
    except KeyError:  # a kind, or a value, without words here: the library's English
        return warning.text


def exclusion_detail(reason: str, values: dict) -> str:
    """An exclusion's specifics (selection.Exclusion's values) in words: '23 notes and rests, fewer
    than 30', the time signatures found, the piece a duplicate copies, the parts a piece has."""
    if reason in ("too short", "too long"):
        text = (
            N_("{n} notes and rests, fewer than {limit}")
            if reason == "too short"
            else N_("{n} notes and rests, more than {limit}")
        )
        return _(text).format(n=number(values["n"]), limit=number(values["limit"]))
    if reason == "time signature":
        return ", ".join(values["found"]) or _("none found")
    if reason == "duplicate file":
        return _("the MusicXML file {piece} holds the same chorale").format(piece=values["piece"])
    if reason == "no such voice":
        return _("its parts: {parts}").format(parts=", ".join(values["parts"]))
    if reason == "empty part":
        return str(values["part"])
    return ""


def excluded_table(excluded: pd.DataFrame) -> pd.DataFrame:
    """Selection.report() (piece_id, voice, reason, detail, values) in words, the values worded as the
    detail (the library's detail is the command line's English)."""
    out = excluded.drop(columns="values")
    out["detail"] = [exclusion_detail(r, v) for r, v in zip(excluded["reason"], excluded["values"])]
    out["reason"] = _worded(out["reason"], REASON_WORDS)
    out["voice"] = [voice_words(v) for v in out["voice"]]
    return shown_headers(out)


# The embedding-size rules (stats.embedding_suggestions) in words: rule -> (name, reasoning with {v}, {x}).
EMBEDDING_RULES = {
    "fourth root": (
        N_("fourth root"),
        N_("{v} ** 0.25 = {x}: a common rule of thumb for categorical inputs"),
    ),
    "fast.ai": (
        "fast.ai",
        N_("min(600, 1.6 * {v} ** 0.56): fast.ai's default, larger for small vocabularies"),
    ),
    "original": (
        N_("original"),
        N_(
            "the workshop's lower bound (Patel & Bhattacharyya 2017): co-occurrence cosine similarities, "
            "largest clique of tokens with one exact similarity value (2 tokens), table lookup gives the "
            "table's floor, 3; a lower bound, not an optimum"
        ),
    ),
}


def embedding_table(table: pd.DataFrame) -> pd.DataFrame:
    """stats.embedding_suggestions rows in words: rule and reasoning in the page's language."""

    out = table.copy()
    known = [r in EMBEDDING_RULES for r in out["rule"]]
    out["reasoning"] = [
        _(EMBEDDING_RULES[r][1]).format(v=v, x=number(v**0.25, 2)) if ok else text
        for r, v, text, ok in zip(out["rule"], out["vocab_size"], out["reasoning"], known)
    ]
    out["rule"] = [_(EMBEDDING_RULES[r][0]) if ok else r for r, ok in zip(out["rule"], known)]
    return shown_headers(out)


# The metrics each Sampling column shows under its music, in this order: (column of the table, label, format).
# Under each Sampling column: (where, key, label, format); "metrics" = the token-level
# metrics.melody_metrics row, "profile" = compare.melody_figures (sung notes, ties merged).
COLUMN_METRICS = (
    ("metrics", "validity", N_("valid groups"), "{:.0%}"),
    ("profile", "notes", N_("notes (ties merged)"), "{:.0f}"),
    ("profile", "key", N_("estimated key"), "{}"),
    ("profile", "ends_on_tonic", N_("ends on the tonic"), "yes/no"),
    ("profile", "outside_key", N_("notes outside the key"), "{:.0%}"),
    ("profile", "interval_awkward", N_("awkward intervals"), "{:.0%}"),
    ("metrics", "self_perplexity", N_("self-perplexity"), "{:.1f}"),
    ("profile", "copy_notes", N_("longest copy (notes)"), "{:.0f}"),
)

NOTE_FIGURES_HELP = N_(
    "Perplexity and top-1 count tokens, and the two tokenizers cut a note differently (the factored one "
    "spends four of its five tokens per note on nearly certain structure), so compare models by the "
    "per-note columns: bits per event = the information a whole melody costs the model per note or rest; "
    "pitch bits per note = -log2 of the probability the model gave the right pitch (whatever its "
    "duration); pitch bits given duration = the same with the note's duration known, the condition the "
    "published chorale models are measured under; pitch top-1 = how often the right pitch was the model's "
    "first choice. Lower bits are better; a model that only knew how often each pitch occurs would need "
    "about 3.7-3.9 bits per pitch."
)

TUNE_GROUPS_HELP = N_(
    "{n} tunes are set by more than one piece. Pieces are one tune when their openings agree, their "
    "titles name the same hymn, or their melodies align (the notes on the beats, as intervals, so another "
    "key or other passing notes do not matter; similarity 0.5 or more). Training, validation and test "
    "never share a tune, so the test set measures composing, not remembering. closest = the highest "
    "similarity between two pieces of the tune (0 when only the opening or the title joins them)."
)

STYLE_HELP = N_(
    "Every melody of a method is moved to C major / A minor and cut to its first {n} notes, then the "
    "notes of all its samples are pooled and compared with held-out Bach. The first row is other Bach "
    "(the validation melodies): its divergences are the noise floor, what real Bach scores. In brackets: "
    "95% bootstrap intervals over the samples (none for a single melody)."
)


def format_metric(value, fmt: str) -> str:
    """A metric for display; '–' for None/NaN, 'yes'/'no' for booleans."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool) or fmt == "yes/no":
        return _("yes") if value else _("no")
    fixed = re.fullmatch(r"\{:\.(\d)([f%])\}", fmt)  # numbers in the page's format: 0,75 / 75 %
    if fixed and isinstance(value, (int, float)):
        places = int(fixed.group(1))
        return percent(value, places) if fixed.group(2) == "%" else number(value, places)
    return fmt.format(value)


def preset_description(preset) -> str:
    """A preset's description (bachlstm.training.presets; babel.cfg puts it in the catalog), translated."""
    return _(preset.description)


def _megabytes(value: float) -> str:
    if value >= 1024:
        return _("{n} GB").format(n=number(value / 1024, 1))
    return _("{n} MB").format(n=number(value)) if value >= 1 else _("under 1 MB")


def estimate_words(e) -> str:
    """A run's cost (budget.Estimate) in one line for the Training form, in the page's language."""
    return _(
        "Estimate: {params} parameters; peak memory ~{peak} (weights and optimizer {state}, one batch "
        "{batch}, {windows} windows {windows_mb}); ~{epoch} per epoch, ~{run} of training in all on a "
        "laptop CPU (rough, +-50%), after the data is prepared (a few seconds, more the first time)."
    ).format(
        params=number(e.n_params),
        peak=_megabytes(e.peak_mb),
        state=_megabytes(e.state_mb),
        batch=_megabytes(e.activations_mb),
        windows=number(e.windows),
        windows_mb=_megabytes(e.windows_mb),
        epoch=format_seconds(e.epoch_s),
        run=format_seconds(e.run_s),
    )


# What each live training chart (loss, validation accuracy) says before it has a point to draw.
NOT_YET_CHARTED = (
    N_("**Loss**: drawn from the first training steps on."),
    N_("**Validation accuracy**: measured at the end of each epoch, so its first point comes after epoch 1."),
)


def progress_text(record) -> tuple[float, str]:
    """(fraction done, one-line status) for the progress bar from the newest Progress record."""
    if record is None:
        return 0.0, _("preparing the data ...")
    total = max(int(record.total_steps or 0), 1)
    fraction = min(max(record.step / total, 0.0), 1.0)
    text = _("epoch {epoch} · step {step}/{total}").format(
        epoch=record.epoch, step=number(record.step), total=number(total)
    )
    if record.eta_s is not None and record.kind != "done":
        text += _(" · ETA {time}").format(time=format_seconds(record.eta_s))
    if record.tokens_per_s:
        text += _(" · {n} tokens/s").format(n=number(record.tokens_per_s))
    return fraction, text


def melody_label(melody) -> str:
    """'bwv269 soprano: Aus meines Herzens Grunde' for the piece browser."""
    title = (melody.meta or {}).get("title") or ""
    return f"{melody.piece_id} {voice_words(melody.voice)}" + (f": {title}" if title else "")


# What every table shows where a value does not exist (st.dataframe's `placeholder`), never "None" or
# "NaN"; the page says beside the table what the mark means there.
MISSING = "–"

# Token names a reader cannot see: the workshop's separator token is a space.
TOKEN_WORDS = {" ": N_("(separator)"), "": N_("(empty)")}


def token_words(token: str) -> str:
    """A token as a reader sees it: ' ' is '(separator)', other tokens as they are."""
    return _(TOKEN_WORDS[token]) if token in TOKEN_WORDS else token


# The Sampling page's token-level table: metrics.METRIC_COLUMNS in words, with what each one means.
METRIC_WORDS = {
    "method": (N_("method"), N_("The sampling method, or Bach's own held-out melodies.")),
    "samples": (
        N_("melodies"),
        N_("Melodies averaged: the samples per method, or the held-out Bach melodies."),
    ),
    "validity": (N_("valid groups"), N_("Share of token groups that make a note or rest.")),
    "invalid_unmasked": (
        N_("invalid without the grammar"),
        N_("Share of invalid groups when the same melody is sampled without the grammar mask."),
    ),
    "events": (N_("notes and rests"), N_("Notes and rests generated.")),
    "notes": (N_("notes"), N_("Notes generated.")),
    "quarters": (N_("length (quarters)"), N_("Length in quarter notes.")),
    "pitch_range": (N_("range (semitones)"), N_("Highest minus lowest pitch.")),
    "pitch_classes": (N_("pitch classes"), N_("Different pitch classes used (of 12).")),
    "pc_entropy": (
        N_("pitch-class spread (bits)"),
        N_("Entropy of the pitch classes: higher = more evenly spread."),
    ),
    "scale_consistency": (
        N_("in one scale"),
        N_("Largest share of notes that fit one major or minor scale."),
    ),
    "mean_interval": (N_("mean step (semitones)"), N_("Mean size of the jump from one note to the next.")),
    "distinct_2": (N_("new pairs"), N_("Share of note pairs that occur only once (1 = nothing repeats).")),
    "distinct_3": (N_("new triples"), N_("Share of three-note groups that occur only once.")),
    "loops": (N_("loops"), N_("Share of melodies that end in a loop.")),
    "loop_period": (N_("loop length"), N_("Length of the repeated phrase, for a melody that loops.")),
    "bar_validity": (N_("full bars"), N_("Share of 4/4 bars that add up to exactly 4 quarters.")),
    "self_perplexity": (
        N_("self-perplexity"),
        N_("How surprised the model is by its own melody (lower = surer)."),
    ),
    "kl_pc": (
        N_("pitch classes vs Bach"),
        N_("KL divergence (bits) of the pitch classes from held-out Bach."),
    ),
    "kl_transitions": (
        N_("steps vs Bach"),
        N_("KL divergence (bits) of the pitch-class steps from held-out Bach."),
    ),
    "memorized": (N_("longest copy (tokens)"), N_("Longest run of tokens shared with one training melody.")),
    "memorized_piece": (N_("copied from"), N_("The training melody that run comes from.")),
}

NOT_MEASURED = N_(
    "in the table: not measured. A run that was stopped (or interrupted) is scored on the test split only "
    "when it is continued to its end; a file that cannot be used has no figures."
)

NOT_APPLICABLE = N_(
    "in the table: does not apply to that row, such as a loop length for melodies that do not loop, the "
    "piece copied from when nothing was copied, or a figure about sampling in Bach's own row."
)

NOT_YET = N_(
    "in the table: not measured yet. The validation loss comes at the end of a run's first epoch, the "
    "test figures when a run ends by itself (a stopped run is not scored on the test split)."
)

RUN_STATE_WORDS = {
    "stopped": N_("it was stopped before its last epoch; its best epoch so far is saved"),
    "interrupted": N_(
        "its training ended without finishing (the server stopped or restarted); its best epoch so far "
        "is saved"
    ),
}

# A saved run's status (checkpoints.CheckpointInfo.status) in words.
RUN_STATUS_WORDS = {
    "complete": N_("complete"),
    "stopped": N_("stopped"),
    "interrupted": N_("interrupted"),
    "broken": N_("broken"),
    "skipped": N_("skipped"),
}


def run_state(info) -> str:
    """'complete', 'stopped at epoch 5 of 45', 'broken: why' for a CheckpointInfo, in the page's language."""
    status = _(RUN_STATUS_WORDS[info.status]) if info.status in RUN_STATUS_WORDS else info.status
    if info.error:
        return f"{status}: {checkpoint_problem(info)}"
    if info.resumable:
        return _("{status} at epoch {epoch} of {epochs}").format(
            status=status, epoch=info.epoch, epochs=info.epochs
        )
    return status


def server_load_words(busy: int, slots: int, waiting: int) -> str:
    """The training server's load in words, with real plurals: 'Server: 1 of 2 training slots busy, no run
    waiting.'"""
    slots_text = ngettext(
        "Server: {busy} of {slots} training slot busy", "Server: {busy} of {slots} training slots busy", slots
    ).format(busy=busy, slots=slots)
    if waiting == 0:
        return slots_text + _(", no run waiting.")
    return slots_text + ngettext(", {n} run waiting.", ", {n} runs waiting.", waiting).format(n=waiting)


def queue_state_words(status: str, position: int | None) -> str:
    """A training job's state in the server's queue table: 'training', 'waiting: number 2 in the queue'."""
    if status == "queued":
        return _("waiting: number {n} in the queue").format(n=position) if position else _("waiting")
    words = {"running": N_("training"), "stopping": N_("stopping (saving its best epoch)")}
    return _(words[status]) if status in words else job_status_words(status)


def run_state_words(info) -> str:
    """'stopped at epoch 4 of 30: it was stopped before ...' for a CheckpointInfo, read when drawn."""
    why = RUN_STATE_WORDS.get(info.status)
    return f"{run_state(info)}: {_(why)}." if why else f"{run_state(info)}."


def checkpoint_table(infos: Sequence) -> pd.DataFrame:
    """One row per CheckpointInfo: name, kind, preset, tokenizer, parameters, test metrics, status."""
    rows = []
    for info in infos:
        metrics = info.metrics or {}
        rows.append(
            {
                "name": info.name,
                "kind": _("shipped") if info.shipped else _("user run"),
                "preset": info.preset,
                "tokenizer": info.tokenizer,
                "parameters": info.n_params,
                "test perplexity": _num(metrics.get("test_perplexity", metrics.get("perplexity"))),
                "test top-1": _num(metrics.get("test_top1", metrics.get("top1"))),
                "bits per event": _num(metrics.get("test_bits_per_event")),
                "pitch bits per note": _num(metrics.get("test_pitch_bits_per_note")),
                "pitch bits given duration": _num(metrics.get("test_pitch_bits_given_duration")),
                "pitch top-1": _num(metrics.get("test_pitch_top1")),
                "status": run_state(info),  # complete | stopped/interrupted at epoch E of N | broken: why
            }
        )
    return pd.DataFrame(rows)


def literature_table(infos: Sequence) -> pd.DataFrame:
    """The published chorale-melody figures, then every checkpoint that measured pitch given duration."""
    rows = [
        {
            "source": _("{source}, Table {table}").format(source=f.source, table=f.table)
            if f.table
            else f.source,
            "model": _(f.model),  # the library's English words, in the catalog by LITERATURE_WORDS
            "pitch bits given duration": f.bits,
            "conditions": _(f.conditions),
        }
        for f in PUBLISHED
    ]
    for info in infos:
        bits = _num((info.metrics or {}).get("test_pitch_bits_given_duration"))
        if bits is not None:
            network = _num((info.metrics or {}).get("test_network_pitch_bits_given_duration"))
            if network is not None:  # a model with a short-term model: its network alone first
                rows.append(
                    {
                        "source": "bachlstm",
                        "model": _("{name}: the LSTM alone").format(name=info.name),
                        "pitch bits given duration": network,
                        "conditions": _(OUR_CONDITIONS),
                    }
                )
            rows.append(
                {
                    "source": "bachlstm",
                    "model": _("{name}: LSTM and short-term model").format(name=info.name)
                    if network is not None
                    else info.name,
                    "pitch bits given duration": bits,
                    "conditions": _(OUR_CONDITIONS),
                }
            )
    return pd.DataFrame(rows)


# The published figures' words (bachlstm/analysis/literature.py) for the catalog: the Home page shows them
# through `_`, and tests/app/test_i18n.py's German page check finds any the catalog lacks.
LITERATURE_WORDS = (
    N_("185 chorales (BWV 253-438), 10-fold cross-validation, pitch given the note's duration"),
    N_("a 5-chorale test set, pitch given the note's duration"),
    N_("pitch viewpoint alone"),
    N_("best multiple-viewpoint system"),
    N_("a Conklin & Witten-style system"),
    N_("pitch alone"),
    N_("multiple viewpoints"),
    N_("best multiple viewpoints"),
)

OUR_CONDITIONS = N_(
    "its tune-disjoint test split (no hymn tune of it was trained on), soprano lines in 4/4, pitch given "
    "the note's duration"
)


# Table headers: the English header or code column name -> the header a reader sees (translated when shown).
HEADERS = {
    "name": N_("name"),
    "kind": N_("kind"),
    "preset": N_("preset"),
    "tokenizer": N_("tokenizer"),
    "parameters": N_("parameters"),
    "test perplexity": N_("test perplexity"),
    "test top-1": N_("test top-1"),
    "bits per event": N_("bits per event"),
    "pitch bits per note": N_("pitch bits per note"),
    "pitch bits given duration": N_("pitch bits given duration"),
    "pitch top-1": N_("pitch top-1"),
    "status": N_("status"),
    "source": N_("source"),
    "reason": N_("reason"),
    "count": N_("count"),
    "explanation": N_("explanation"),
    "piece_id": N_("piece"),
    "voice": N_("voice"),
    "detail": N_("detail"),
    "vocab_size": N_("vocabulary size"),
    "rule": N_("rule"),
    "dim": N_("dimension"),
    "reasoning": N_("reasoning"),
    "tune": N_("tune"),
    "melodies": N_("melodies"),
    "pieces": N_("pieces"),
    "titles": N_("titles"),
    "closest": N_("closest"),
    "run": N_("run"),
    "state": N_("state"),
    "wait": N_("wait"),
    "yours": N_("yours"),
    "model": N_("model"),
    "conditions": N_("conditions"),
}


# How the models' figures are shown: perplexity and bits to two decimals, shares as percentages, counts
# with thousands separators (st.column_config.NumberColumn formats; four raw decimals said nothing more).
FIGURE_FORMATS = {
    "parameters": "localized",
    "test perplexity": "%.2f",
    "test top-1": "percent",
    "bits per event": "%.2f",
    "pitch bits per note": "%.2f",
    "pitch bits given duration": "%.2f",
    "pitch top-1": "percent",
}


def figure_formats(table: pd.DataFrame, headers: dict[str, str] | None = None) -> dict[str, str]:
    """FIGURE_FORMATS for the columns of `table`, keyed by their shown (translated) header."""
    words = HEADERS if headers is None else headers
    return {_(words.get(c, c)): FIGURE_FORMATS[c] for c in table.columns if c in FIGURE_FORMATS}


def shown_headers(table: pd.DataFrame, headers: dict[str, str] | None = None) -> pd.DataFrame:
    """The table with its column names in the page's language (HEADERS, or `headers`, by column name)."""
    words = HEADERS if headers is None else headers
    return table.rename(columns={c: _(words[c]) for c in table.columns if c in words})


def _num(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------------------------------
# Inside the model page

INSIDE_HELP = {
    "intro": N_(
        "Look inside a trained network while it reads one melody: how surprised it is by each note, "
        "what its gates and memory cells do step by step, which units follow the meter or the pitch, and how "
        "it arranges its tokens."
    ),
    "source": N_(
        "A chorale the model never trained on (its test split), or a melody you generated on the "
        "Sampling page."
    ),
    "surprise": N_(
        "**Surprise** is a note's information content: -log2 of the probability the model gave it, "
        "knowing every note before it. 1 bit is a coin toss; 10 bits means the model gave that note about a "
        "1-in-1000 chance. A note made of several tokens (the workshop's pitch, octave, duration, dots and "
        "separator) adds up its tokens' bits. Music psychologists measure listeners' expectation the same "
        "way (IDyOM): surprising notes are often where the melody turns, starts a phrase or leaves the key."
    ),
    "states": N_(
        "Each LSTM unit has gates between 0 and 1: the **input gate** decides how much new content "
        "is written into its memory cell, the **forget gate** how much of the old content is kept, and the "
        "**output gate** how much of the cell the next layer sees. The **cell state** is the long memory, "
        "the **hidden state** what the unit passes on. One column per token, under the notes it belongs to; "
        "dashed lines are bar lines."
    ),
    "units": N_(
        "For each unit and each musical feature, the correlation r (from -1 to 1) between the unit's "
        "state after each note and that feature of the note. |r| near 1: the unit rises and falls with the "
        "feature, a *meter unit* or a *pitch unit* that nobody programmed. One melody is few notes, so large "
        "|r| also arise by chance among many units; within one melody the distance to the end is just the "
        "time since the start reversed. Pooling all held-out melodies separates them."
    ),
    "r": N_(
        "The correlation between the unit's state after each note and the feature: +1 rises with it, "
        "-1 falls as it rises, 0 no straight-line relation."
    ),
    "pool": N_(
        "Compute the correlations over the notes of every held-out melody at once (a few seconds the "
        "first time): a unit that tracks a feature everywhere, not just in this melody."
    ),
    "embedding": N_(
        "The embedding turns every token into a short vector before the LSTM sees it. The "
        "workshop network uses only **3 numbers per token**, so each token is a point in a space we can draw "
        "as it is, and tokens the network uses alike lie close together; three numbers are little room for "
        "some 40 tokens, so it cannot keep every distinction apart. A wider embedding (64 numbers for "
        "`bach`) has room for finer ones and is drawn here on its two main directions (PCA), which show "
        "only part of its spread."
    ),
}


# The musical features a unit may track (timeline.FEATURES), in a reader's words.
FEATURE_WORDS = {
    "position_in_bar": N_("position in the bar"),
    "beat_strength": N_("beat strength"),
    "pitch_height": N_("pitch"),
    "duration": N_("duration"),
    "distance_to_end": N_("time left to the end"),
}


# The LSTM's signals (activations.SIGNALS) in a reader's words: the gate's letter as in the help text.
SIGNAL_WORDS = {
    "input_gate": N_("input gate i"),
    "forget_gate": N_("forget gate f"),
    "output_gate": N_("output gate o"),
    "cell_input": N_("candidate g"),
    "cell": N_("cell state c"),
    "hidden": N_("hidden state h"),
}

# What the embedding's points may be coloured by (embeddings.COLOUR_KEYS), in a reader's words.
COLOUR_WORDS = {
    "type": N_("token type"),
    "pitch_class": N_("pitch class"),
    "octave": N_("octave"),
    "duration": N_("duration"),
}

# The Inside page's note tables (surprise.extremes), the units table and the nearest tokens, by column.
INSIDE_HEADERS = {
    "index": N_("note no."),
    "name": N_("note"),
    "measure": N_("bar"),
    "beat": N_("beat"),
    "duration": N_("duration (quarters)"),
    "bits": N_("surprise (bits)"),
    "feature": N_("feature"),
    "layer": N_("layer"),
    "unit": N_("unit"),
    "state": N_("LSTM state"),
    "notes": N_("notes"),
    "token": N_("token"),
    "type": N_("type"),
    "similarity": N_("similarity"),
}


def signal_words(signal: str) -> str:
    """An LSTM signal ('forget_gate') in the page's language ('forget gate f')."""
    return _(SIGNAL_WORDS[signal]) if signal in SIGNAL_WORDS else signal


def signed(value: float, decimals: int = 2) -> str:
    """A number with its sign always shown, in the page's language: +0.53 / -0,20."""
    return ("-" if value < 0 else "+") + number(abs(value), decimals)


def primer_choice_label(choice) -> str:
    """A held-out primer (`generation.primer.PrimerChoice`) in the Sampling page's list, like
    `melody_label`; an instrument part says that it plays the tune ("bwv250 Horn 1, plays the tune: ...")."""
    m = choice.melody
    title = (m.meta or {}).get("title") or ""
    part = _("{part}, plays the tune").format(part=m.voice) if choice.why == "tune" else m.voice
    return f"{m.piece_id} {part}" + (f": {title}" if title else "")


def left_out_primers_text(left) -> str:
    """Why some held-out parts are not in the primer list (`PrimerChoice`s left out), or ""."""
    if not left:
        return ""
    silent = [f"{c.melody.piece_id} {c.melody.voice}" for c in left if c.why == "silent"]
    other = [f"{c.melody.piece_id} {c.melody.voice}" for c in left if c.why == "not_tune"]
    parts = []
    if silent:
        parts.append(_("rests in their opening bars: {parts}").format(parts=", ".join(silent)))
    if other:
        parts.append(_("instrument parts that do not play the tune: {parts}").format(parts=", ".join(other)))
    return _("Not offered as primers: {why}.").format(why="; ".join(parts))


def notice_text(notice, lang: str | None = None) -> str:
    """A reading notice (`bachlstm.music.notices.Notice`) in the page's words: its English template
    translated (babel.cfg extracts notices.TEXTS into the catalog), filled with its values, notes named in
    `lang` (default: the page's language)."""
    return notice.worded(notice_template(notice), lang or current_language())


def line_label(line, lang: str | None = None) -> str:
    """A file's track or part (`generation.primer.PrimerLine`) for the Sampling page's choice box."""
    from bachlstm.music.names import pitch_name

    lang = lang or current_language()
    return _("{number}: {name} ({instrument}, {low} to {high}, {notes} notes)").format(
        number=line.number,
        name=line.name or _("line {number}").format(number=line.number),
        instrument=line.instrument or _("no instrument named"),
        low=pitch_name(line.low, lang),
        high=pitch_name(line.high, lang),
        notes=line.notes,
    )
