"""Links that reproduce a Sampling result: every setting that decides the four melodies as query
parameters (`?model=bach&primer=bwv66.6:soprano&seed=3&length=128&...`) and back.

Same server, same model file, same request: the same tokens (generation draws each row from its own
seeded generator). A link is read with every problem at once, as `LinkProblem(field, code, value)`
codes the page words in the student's language: an unknown model, a primer the model does not hold
out, a value that is not a number, a value out of range (`detail` is then the library's own
"must be ..." text of the rule that refused it: one rule, in one place).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields

from bachlstm.generation.generator import DEFAULT_MIN_LENGTH, check_arguments, token_limit
from bachlstm.reports.comparison import Knobs, sampling_configs
from bachlstm.settings.problems import Problem, problems_of
from bachlstm.settings.seeds import check_seed

# Problem codes (the page words them).
MISSING_MODEL = "missing_model"  # a link without `model`
UNKNOWN_MODEL = "unknown_model"  # a model this server does not have (deleted, or another server's)
UNKNOWN_PRIMER = "unknown_primer"  # a chorale that is not among the model's held-out melodies
NOT_A_NUMBER = "not_a_number"  # a number field that does not read as one
NOT_ON_OFF = "not_on_off"  # the grammar switch is neither 1 nor 0
OUT_OF_RANGE = "out_of_range"  # a number the library's rule (or the page's control) refuses

DEFAULT_LENGTH = 40  # notes: the Sampling page's default (with a cadence: the first after 40 notes)
GRAMMAR = "grammar"  # the query name of `constrained`: what the page calls the switch
CADENCE = "cadence"  # the query name of `cadence`: end only on a cadence (generate()'s `cadence`)
# With "end on a cadence": a melody ends at its first cadence after the length, and is cut at this many
# times the length (measured with `chorale`: at 3x, 3-9 of 64 top-k/top-p melodies found no cadence).
CADENCE_CAP = 3


@dataclass(frozen=True)
class SamplingRequest:
    """Everything that decides a Sampling result's melodies: the model by name, the primer (a held-out
    chorale's key 'piece_id:voice', or "" for none), the lengths, the seed, the knobs, the grammar mask
    and the samples per method the table pools."""

    model: str
    primer: str = ""
    seed: int = 0
    length: int = DEFAULT_LENGTH
    min_length: int = DEFAULT_MIN_LENGTH
    samples: int = 1
    knobs: Knobs = field(default_factory=Knobs)
    constrained: bool = True
    cadence: bool = True  # end on a cadence, the first one after `length` notes (cut at 3x the length)


def length_arguments(length: int, cadence: bool) -> dict:
    """compare_methods' length arguments for the Sampling page's Length (notes) and its cadence switch."""
    if not cadence:
        return dict(length=token_limit(length), max_notes=length)
    notes = length * CADENCE_CAP
    return dict(length=token_limit(notes), max_notes=notes, cadence=True, close_after=length)


@dataclass(frozen=True)
class LinkProblem:
    """One thing wrong with a link: the setting (`field`, a query name), a code, the value as found, and
    for OUT_OF_RANGE the rule's own words (`detail`, "must be ...")."""

    field: str
    code: str
    value: str
    detail: str = ""
    rule: Problem | None = None  # for OUT_OF_RANGE: the library's Problem (its code and values)


class LinkError(ValueError):
    """A link that cannot be used; `problems` lists every LinkProblem at once."""

    def __init__(self, problems: list[LinkProblem]):
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.field} {p.code} {p.value!r} {p.detail}".strip() for p in problems))


_INTS = ("seed", "length", "min_length", "samples")
_KNOB_TYPES = {f.name: (int if f.type in ("int", int) else float) for f in fields(Knobs)}
LINK_FIELDS = ("model", "primer", *_INTS, *_KNOB_TYPES, GRAMMAR, CADENCE)  # every query name a link uses


def is_link(params: Mapping[str, str]) -> bool:
    """Whether an address's query parameters are a Sampling link (they name a model)."""
    return "model" in params


def to_query(request: SamplingRequest) -> dict[str, str]:
    """The request as query parameters, every setting spelled out (a link keeps its meaning when a
    default changes): {"model": "bach", "primer": "", "seed": "3", ..., "k": "8", ..., "grammar": "1"}."""
    out = {"model": request.model, "primer": request.primer}
    out.update({name: str(getattr(request, name)) for name in _INTS})
    out.update({name: _number(getattr(request.knobs, name)) for name in _KNOB_TYPES})
    out[GRAMMAR] = "1" if request.constrained else "0"
    out[CADENCE] = "1" if request.cadence else "0"
    return out


def _number(value: float | int) -> str:
    """The shortest text that reads back as the same number (0.9, not 0.9000000000000001 nor 0.90)."""
    return str(value) if isinstance(value, int) else repr(float(value))


def from_query(
    params: Mapping[str, str], models: Collection[str], primers: Collection[str] | None = None
) -> SamplingRequest:
    """The request a link's query parameters describe, checked: the model among `models`, the primer
    among `primers` (the model's held-out chorale keys; None: not checked here), every number by the
    rule the library applies to it. A missing setting takes the page's default. LinkError with every
    problem at once."""
    problems: list[LinkProblem] = []
    model = str(params.get("model", "")).strip()
    if not model:
        problems.append(LinkProblem("model", MISSING_MODEL, ""))
    elif model not in models:
        problems.append(LinkProblem("model", UNKNOWN_MODEL, model))
    primer = str(params.get("primer", "")).strip()
    if primer and primers is not None and primer not in primers:
        problems.append(LinkProblem("primer", UNKNOWN_PRIMER, primer))
    values: dict[str, int | float] = {}
    defaults = SamplingRequest(model="")
    for name, kind in [*((n, int) for n in _INTS), *_KNOB_TYPES.items()]:
        default = getattr(defaults.knobs if name in _KNOB_TYPES else defaults, name)
        raw = params.get(name)
        if raw is None or str(raw).strip() == "":
            values[name] = default
            continue
        number = _read_number(str(raw), kind)
        if number is None:
            problems.append(LinkProblem(name, NOT_A_NUMBER, str(raw)))
        else:
            values[name] = number
    constrained = str(params.get(GRAMMAR, "1")).strip()
    if constrained not in ("0", "1"):
        problems.append(LinkProblem(GRAMMAR, NOT_ON_OFF, constrained))
    cadence = str(params.get(CADENCE, "1" if defaults.cadence else "0")).strip()
    if cadence not in ("0", "1"):
        problems.append(LinkProblem(CADENCE, NOT_ON_OFF, cadence))
    if problems:  # the rules below need every number read
        raise LinkError(problems)
    knobs = Knobs(**{name: values[name] for name in _KNOB_TYPES})
    request = SamplingRequest(
        model,
        primer,
        *(values[name] for name in _INTS),
        knobs=knobs,
        constrained=constrained == "1",
        cadence=cadence == "1",
    )
    problems += _rule_problems(request, params)
    if problems:
        raise LinkError(problems)
    return request


def _read_number(raw: str, kind: type) -> int | float | None:
    """An int (a whole number, "3" or "3.0") or a finite float from text; None when it is neither."""
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    if kind is int:
        return int(value) if value.is_integer() else None
    return value


_LINK_NAMES = {"max_notes": "length"}  # generate()'s argument -> the link's query name


def _rule_problems(request: SamplingRequest, params: Mapping[str, str]) -> list[LinkProblem]:
    """The library's own checks of the seed, the lengths and the knobs, as OUT_OF_RANGE problems."""
    found: list[tuple[str, Problem]] = []  # (query name, the rule's problem)
    checks = [
        (None, lambda: check_seed(request.seed)),
        (None, lambda: check_arguments(length=token_limit(request.length), min_length=request.min_length,
                                       samples=request.samples, max_notes=request.length)),
    ]  # fmt: skip
    # Each knob alone among defaults, so a problem is its own (the configs share names: "temperature").
    for name in _KNOB_TYPES:
        alone = Knobs(**{name: getattr(request.knobs, name)})
        checks.append((name, lambda alone=alone: sampling_configs(alone)))
    for name, check in checks:
        try:
            check()
        except ValueError as exc:
            # `length` is the link's limit in notes: generate()'s max_notes
            found += [(name or _LINK_NAMES.get(p.field, p.field), p) for p in problems_of(exc)]
    return [LinkProblem(name, OUT_OF_RANGE, str(params.get(name, "")), p.text, p) for name, p in found]
