"""The forms' fields: the Training form's starting values from a preset and parsing them back (FormError),
and the sentence that names every bad setting by the label a student sees."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from app_pages.i18n import N_, ngettext, translator
from app_pages.messages import describe, problem_sentence
from bachlstm.settings.problems import (
    EMPTY_LIST,
    NOT_NUMBER_LIST,
    NOT_WHOLE,
    Problem,
    SettingsError,
    problems_of,
)
from bachlstm.training.presets import Preset, get_preset

_ = translator(__name__)


class FormError(SettingsError):
    """Dashboard form values that cannot be used; `problems` names each field (the form's field name)."""


# The hyperparameters the training form edits: field name -> (label, kind). Kinds: int, float, ints,
# floats (comma-separated lists), int0 (0 means "none"), text_int (a whole number typed as text: a
# seed may be larger than a browser's number field holds). Number fields have no bounds in the widget
# (a value outside a widget's bounds turns it red and the button silently does nothing); the library
# refuses a bad value with a message that names it.
TRAINING_FIELDS = {
    "epochs": (N_("Epochs"), "int"),
    "batch_size": (N_("Batch size"), "int"),
    "lr": (N_("Learning rate"), "float"),
    "embedding_dim": (N_("Embedding dimension"), "int"),
    "lstm_sizes": (N_("LSTM layer sizes (comma-separated)"), "ints"),
    "dropouts": (N_("Dropout per LSTM layer (comma-separated)"), "floats"),
    "hidden_linear": (N_("Hidden linear layer (0 = none)"), "int0"),
    "seq_len": (N_("Sequence length (tokens)"), "int"),
    "max_melodies": (N_("Use only the first N melodies (0 = all)"), "int0"),
    "max_steps": (N_("Stop after N steps (0 = no limit)"), "int0"),
    "seed": (N_("Seed"), "text_int"),
}


def form_defaults(preset) -> dict:
    """The training form's starting values for a Preset (lists as text, None as 0)."""
    sections = (preset.train, preset.model, preset.data)
    values = {}
    for name, (_, kind) in TRAINING_FIELDS.items():
        value = next(getattr(s, name) for s in sections if hasattr(s, name))
        if kind in ("ints", "floats"):
            value = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        elif kind == "int0":
            value = value or 0
        elif kind == "text_int":
            value = str(value)
        values[name] = value
    return values


def parse_number_list(text: str, kind: type, field: str) -> tuple:
    """'6, 12, 6' -> (6, 12, 6); FormError naming `field` for anything that is not such a list."""
    parts = [p.strip() for p in str(text).replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise FormError([Problem(field, "needs at least one number, e.g. '64, 64'", EMPTY_LIST)])
    try:
        return tuple(kind(p) for p in parts)
    except ValueError:
        raise FormError(
            [
                Problem(
                    field,
                    f"must be a comma-separated list of numbers, got {text!r}",
                    NOT_NUMBER_LIST,
                    (("got", text),),
                )
            ]
        ) from None


def parse_whole_number(text: str, field: str) -> int:
    """'42' -> 42; FormError naming `field` for anything that is not a whole number."""
    try:
        return int(str(text).strip())
    except ValueError:
        raise FormError(
            [Problem(field, f"must be a whole number, got {text!r}", NOT_WHOLE, (("got", text),))]
        ) from None


def _parse_field(value, kind: str, name: str):
    if kind in LIST_KINDS:
        return parse_number_list(value, int if kind == "ints" else float, name)
    if kind == "int0":
        return int(value) or None
    if kind == "int":
        return int(value)
    if kind == "text_int":
        return parse_whole_number(value, name)
    return float(value)


def training_overrides(values: dict) -> dict:
    """Form values -> get_preset(name, **overrides) keyword arguments (text lists parsed, 0 -> None).

    FormError naming every field that cannot be read (not only the first).
    """
    out, problems = _parsed(values)
    if problems:
        raise FormError(problems)
    return out


def _parsed(values: dict) -> tuple[dict, list[Problem]]:
    out, problems = {}, []
    for name, (_, kind) in TRAINING_FIELDS.items():
        if name in values:
            try:
                out[name] = _parse_field(values[name], kind, name)
            except FormError as exc:
                problems.extend(exc.problems)
    return out, problems


def training_preset(preset_name: str, values: dict) -> Preset:
    """The preset the Training form describes; FormError listing every bad field at once, those the form
    cannot read and those the library refuses (PresetError for an error that names no field)."""
    overrides, problems = _parsed(values)
    try:
        preset = get_preset(preset_name, **overrides)
    except SettingsError as exc:
        if not exc.problems:
            raise
        problems.extend(exc.problems)
    if problems:
        order = list(TRAINING_FIELDS)
        raise FormError(
            sorted(problems, key=lambda p: order.index(p.field) if p.field in order else len(order))
        )
    return preset


def field_label(field: str, labels: Mapping[str, str] | None = None) -> str:
    """The label a student sees for a field: 'Batch size' for batch_size (the part before any '(')."""
    if labels and field in labels:
        return _(labels[field])
    if field in TRAINING_FIELDS:
        return _(TRAINING_FIELDS[field][0]).split(" (")[0]
    return field.replace("_", " ")


def problems_text(exc: BaseException, labels: Mapping[str, str] | None = None) -> str:
    """An error for a page: every bad field by its label ('**Epochs** must be ...'), one per line when
    there are several; the error's own sentence when it names no field."""
    problems: Sequence[Problem] = problems_of(exc)
    if not problems:
        return describe(exc, lambda field: field_label(field, labels))
    lines = [f"**{field_label(p.field, labels)}** {problem_sentence(p)}" for p in problems]
    if len(lines) == 1:
        return lines[0] + "."
    head = ngettext("{n} setting needs a change:", "{n} settings need a change:", len(lines)).format(
        n=len(lines)
    )
    return head + "\n" + "\n".join(f"- {line}" for line in lines)


# --- hyperparameter sweep: one field of the training form at 2-5 values -------------------------------

SWEEP_SIZES = (2, 5)  # fewest and most values: a sweep of one is a run, more than 5 fills the queue
LIST_KINDS = ("ints", "floats")


def parse_sweep_values(field: str, text: str) -> list:
    """The values to try for `field`: '3, 8, 16' for a number field; list fields (LSTM sizes, dropouts)
    separate their values with ';' ('6, 12, 6; 32, 32'). FormError for a bad or repeated value, or for
    fewer than 2 or more than 5 values."""
    if field not in TRAINING_FIELDS:
        raise FormError(f"{field!r} is not a field of the training form")
    label, kind = TRAINING_FIELDS[field]
    label = _(label)  # the sentences below are the page's: in its language
    parts = [p.strip() for p in re.split(";" if kind in LIST_KINDS else "[,;]", str(text)) if p.strip()]
    values = []
    for part in parts:
        if kind in LIST_KINDS:
            try:
                values.append(parse_number_list(part, int if kind == "ints" else float, field))
            except FormError as exc:
                why = problem_sentence(exc.problems[0])
                raise FormError(_("sweep over {label}: {why}").format(label=label, why=why)) from None
            continue
        try:
            values.append(float(part) if kind == "float" else int(part))
        except ValueError:
            what = _("{part} is not a number") if kind == "float" else _("{part} is not a whole number")
            why = what.format(part=repr(part))
            raise FormError(_("sweep over {label}: {why}").format(label=label, why=why)) from None
    lo, hi = SWEEP_SIZES
    example = "6, 12, 6; 32, 32" if kind in LIST_KINDS else "3, 8, 16"
    if not lo <= len(values) <= hi:
        raise FormError(
            _("sweep over {label}: give {lo} to {hi} values (e.g. '{example}'), got {n}").format(
                label=label, lo=lo, hi=hi, example=example, n=len(values)
            )
        )
    if len(set(values)) != len(values):
        raise FormError(
            _("sweep over {label}: each value once, got {text}").format(label=label, text=repr(text))
        )
    return values


def sweep_label(value) -> str:
    """A value as it appears in a run name and a chart: 16, 0.001, 6x12x6."""
    if isinstance(value, tuple):
        return "x".join(sweep_label(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def sweep_runs(values: dict, field: str, sweep: list, prefix: str) -> list[tuple[str, dict]]:
    """(run name, get_preset overrides) per swept value: the form's settings with `field` replaced.

    Run names are '<prefix>-<value>' ('sweep-lr-0.003'); 0 means "none" for the 0-able fields, as in
    the form.
    """
    base = training_overrides(values)
    kind = TRAINING_FIELDS[field][1]
    runs = []
    for value in sweep:
        swept = training_overrides({**values, field: value})[field] if kind not in LIST_KINDS else value
        runs.append((f"{prefix}-{sweep_label(value)}", {**base, field: swept}))
    return runs
