"""The forms' fields: the Training form's starting values from a preset and parsing them back (FormError),
and the sentence that names every bad setting by the label a student sees."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from app_pages.i18n import N_, current_language, ngettext, translator
from app_pages.messages import describe, problem_sentence
from bachlstm.settings.problems import (
    EMPTY_LIST,
    NOT_NUMBER,
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


# The hyperparameters the training form edits: field name -> (label, kind). Kinds: int, float (typed as
# text, so a German page shows and reads 0,003: a number field writes 0.00300 whatever the language), ints,
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
        if kind in LIST_KINDS:
            value = list_text(value)
        elif kind == "int0":
            value = value or 0
        elif kind == "text_int":
            value = str(value)
        elif kind == "float":
            value = number_text(float(value))
        values[name] = value
    return values


def decimal_comma() -> bool:
    """True where the reader writes 0,5 for a half (German pages): a comma between digits is a decimal."""
    return current_language() == "de"


def list_text(values: Sequence) -> str:
    """A list of numbers as a form shows it in the reader's format: '6, 12, 6', '0.2, 0.3' / '0,2; 0,3'."""
    if decimal_comma() and any(isinstance(v, float) for v in values):
        return "; ".join(number_text(v) for v in values)  # '0,2, 0,3' would hide where a value ends
    return ", ".join(number_text(v) for v in values)


def number_text(value: float) -> str:
    """A form's number in the reader's format, no more digits than it has: 0.001 / 0,001, 6, 1e-05."""
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text.replace(".", ",") if decimal_comma() else text


def split_numbers(text: str, comma_decimals: bool = False) -> list[str]:
    """The numbers typed in a list field: separated by ';', spaces or commas; with `comma_decimals` (German
    pages, decimal fields) a comma between two digits is a decimal comma: '0,2, 0,3' and '0,2; 0,3' and
    '0,2 0,3' -> ['0,2', '0,3']. Decimal points ('0.2,0.3', English) make every comma split."""
    comma_decimals = comma_decimals and "." not in str(text)
    separators = r"[;\s]+|(?<!\d),|,(?!\d)" if comma_decimals else r"[;,\s]+"
    return [p for p in re.split(separators, str(text)) if p]


def parse_number(text: str, kind: type):
    """'0,25' or '0.25' -> 0.25 (a decimal comma on German pages), '6' -> 6; ValueError if not a number."""
    text = text.strip()
    if kind is float and decimal_comma() and "." not in text:
        text = text.replace(",", ".")
    return kind(text)


def parse_number_list(text: str, kind: type, field: str) -> tuple:
    """'6, 12, 6' -> (6, 12, 6), '0,2; 0,3' -> (0.2, 0.3) on German pages (split_numbers' rule);
    FormError naming `field` for anything that is not such a list."""
    parts = split_numbers(text, comma_decimals=kind is float and decimal_comma())
    if not parts:
        raise FormError([Problem(field, "needs at least one number, e.g. '64, 64'", EMPTY_LIST)])
    try:
        return tuple(parse_number(p, kind) for p in parts)
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


def parse_decimal(text, field: str) -> float:
    """'0,003' (German pages) or '0.003' -> 0.003; FormError naming `field` for anything else."""
    try:
        return parse_number(str(text), float)
    except ValueError:
        raise FormError(
            [Problem(field, f"must be a number, got {text!r}", NOT_NUMBER, (("got", text),))]
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
    return parse_decimal(value, name)


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
    if kind in LIST_KINDS:
        parts = [p.strip() for p in str(text).split(";") if p.strip()]
    else:
        parts = split_numbers(text, comma_decimals=kind == "float" and decimal_comma())
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
            values.append(parse_number(part, float if kind == "float" else int))
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


def sweep_value_text(value) -> str:
    """A swept value as a page shows it, in the reader's format: 0.001 / 0,001, 6x12x6, 0,2x0,3."""
    if isinstance(value, (tuple, list)):
        return "x".join(sweep_value_text(v) for v in value)
    return number_text(value)


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
