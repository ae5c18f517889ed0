"""The Sampling page's settings as one value, kept with each result: the page compares what made the
shown melodies with what its controls now say, so a stale result is never shown as if it were current.

No streamlit here: a plain dataclass and the sentence that names the differences (tested directly).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from app_pages.texts import KNOB_LABELS
from bachlstm.model.checkpoints import DEFAULT_MODEL
from bachlstm.reports.comparison import Knobs
from bachlstm.reports.links import SamplingRequest

if TYPE_CHECKING:
    from bachlstm.generation.generator import Generation
    from bachlstm.model.checkpoints import Checkpoint
    from bachlstm.reports.comparison import Comparison


@dataclass(frozen=True)
class SamplingSettings:
    """Everything that decides the four melodies (equal settings give equal music)."""

    model: str  # the name shown in the model list
    checkpoint: str  # its file: a run saved again under the same name is another model
    primer: str  # the primer in words: "none", a chorale's label or "file NAME"
    primer_id: str  # what makes two primers the same: a chorale's id or a file's name and hash
    length: int  # notes at most (the token limit follows: generator.token_limit)
    min_length: int  # notes at least
    seed: int
    knobs: Knobs
    constrained: bool  # the grammar mask
    samples: int = 1  # per method, pooled in the comparison table (the columns show the first)
    cadence: bool = True  # end on a cadence: the first after `length` notes (generator's close_after)

    @property
    def primer_name(self) -> str:
        """The primer as a download's title and file name give it: "none", "bwv66.6 soprano" or the
        uploaded file's name (with the line taken, when chosen)."""
        if self.primer_id == "none":
            return "none"
        return self.primer.removeprefix("file ") if self.primer.startswith("file ") else self.primer_id

    def described(self) -> dict[str, str]:
        """Each setting in words, e.g. {"seed": "seed 7", "k": "top-k: k 8", ...}."""
        model = self.model if self.model else "no model"
        out = {
            "model": f"model {model}",
            "checkpoint": f"model file {self.checkpoint}",
            "primer": f"primer {self.primer}",
            "length": f"length {self.length} notes",
            "min_length": f"minimum {self.min_length} notes",
            "seed": f"seed {self.seed}",
        }
        for f in fields(Knobs):
            out[f.name] = f"{KNOB_LABELS[f.name]} {getattr(self.knobs, f.name):g}"
        out["constrained"] = "grammar mask " + ("on" if self.constrained else "off")
        out["cadence"] = "end on a cadence " + ("on" if self.cadence else "off")
        out["samples"] = f"{self.samples} samples per method"
        return out

    def _identity(self) -> dict[str, str]:
        """described(), with the primer compared by identity rather than by its words."""
        out = self.described()
        out["primer"] = f"{out['primer']} ({self.primer_id})"
        return out


@dataclass(frozen=True)
class SamplingResult:
    """What one Generate made, kept in the session: the comparison, the four columns and the settings
    that made them (the session keeps events and figures; drawings and audio live in the server's cache)."""

    comparison: Comparison  # every sample of every method, the table, the style report
    gens: list[Generation]  # the four columns: each method's first sample
    settings: SamplingSettings
    checkpoint: Checkpoint  # the model travels with its result: the explorer uses the tokens' vocabulary
    n_primer: int  # events of the primer at the start of each column
    shown: list[int]  # the columns' indices into comparison.generations
    profiles: list[dict]  # each column's per-note profile (empty where the comparison has none)
    note: str = ""  # said above the columns (e.g. how a primer file was read)
    link: dict | None = None  # the query parameters that make these melodies again; None: no link

    @property
    def model(self) -> str:
        """The model's name in the model list."""
        return self.settings.model

    @property
    def seed(self) -> int:
        """The seed that made these melodies."""
        return self.settings.seed

    @property
    def constrained(self) -> bool:
        """Whether the grammar mask was on."""
        return self.settings.constrained

    @property
    def samples(self) -> int:
        """Samples per method in the comparison table."""
        return self.settings.samples


def file_id(name: str, data: bytes) -> str:
    """The identity of an uploaded primer file: its name and a short hash of its bytes."""
    return f"{name} {hashlib.sha256(data).hexdigest()[:12]}"


def stale_note(made: SamplingSettings, shown: SamplingSettings) -> str | None:
    """None when `made` (the result's settings) equals `shown` (the controls'); else a sentence naming
    each difference: "These melodies were made with seed 7, length 32 tokens; the settings above say
    seed 3, length 64 tokens. Press Generate for the new settings." """
    if made == shown:
        return None
    then, now = made._identity(), shown._identity()
    changed = [k for k in then if then[k] != now[k]]
    if "model" in changed:  # the file follows the model: one difference, not two
        changed = [k for k in changed if k != "checkpoint"]
    before, after = made.described(), shown.described()
    if before["primer"] == after["primer"] and "primer" in changed:
        after["primer"] += " (another file of that name)"
    return (
        f"These melodies were made with {', '.join(before[k] for k in changed)}; the settings above say "
        f"{', '.join(after[k] for k in changed)}. Press **Generate** for the new settings."
    )


# The Sampling page's sliders by setting: (lowest, highest, step). The page draws them from here, and
# a link's value outside a slider is refused by the same numbers (a slider cannot show it).
SLIDERS = {
    "length": (8, 256, 8),  # notes
    "k": (1, 64, None),
    "k_temperature": (0.1, 2.0, 0.05),
    "p": (0.05, 1.0, 0.01),
    "p_temperature": (0.1, 2.0, 0.05),
    "temperature": (0.1, 3.0, 0.05),
    "min_p": (0.0, 0.5, 0.01),
    "typical_p": (0.05, 1.0, 0.05),
    "repetition_penalty": (1.0, 2.0, 0.05),
}


def request_of(settings: SamplingSettings, primer_key: str | None) -> SamplingRequest | None:
    """The link request of a result's settings; None where a link cannot carry them (a primer file,
    `primer_key` None; a seed that is not a number). `primer_key`: "" for none, a chorale's key."""
    if primer_key is None or not isinstance(settings.seed, int):
        return None
    return SamplingRequest(
        settings.model, primer_key, settings.seed, settings.length, settings.min_length, settings.samples,
        settings.knobs, settings.constrained, settings.cadence,
    )  # fmt: skip


def default_model_index(names: list[str]) -> int:
    """Where the model list starts: the default model (checkpoints.DEFAULT_MODEL), else `bach`, else the
    first."""
    for name in (DEFAULT_MODEL, "bach"):
        if name in names:
            return names.index(name)
    return 0


def value_of(request: SamplingRequest, name: str):
    """One setting of a request by its link name (a knob or a top-level setting)."""
    return getattr(request.knobs, name) if hasattr(request.knobs, name) else getattr(request, name)


def outside_sliders(request: SamplingRequest) -> list[tuple[str, float, float, float]]:
    """(setting, value, lowest, highest) of each setting a slider of the page cannot show."""
    out = []
    for name, (low, high, _) in SLIDERS.items():
        value = value_of(request, name)
        if not low <= value <= high:
            out.append((name, value, low, high))
    return out
