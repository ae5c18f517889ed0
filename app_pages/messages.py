"""The library's problems (codes with values) and other codes (voices, modes) in the reader's language.

A page shows a library problem with `describe(exc)` (any error: RecordsError, StudentNameError,
SettingsError, ...) or `problem_sentence(problem)` (one setting's "must be ..." part). A new problem code in
the library gets its sentence here, marked with `N_` so it reaches the catalog; a code without one falls back
to the library's English text (and tests/test_i18n.py's German page check finds it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

from app_pages.i18n import N_, current_language, ngettext, number, translator
from bachlstm.classroom import records, students
from bachlstm.model import checkpoint_format as ckpt
from bachlstm.settings import limits, problems
from bachlstm.training import jobs, workers

_ = translator(__name__)

# (kind of problem, code) -> sentence with the code's values as {placeholders}.
SENTENCES: Mapping[tuple[str, str], str] = {
    ("setting", problems.WHOLE_NUMBER): N_("must be a whole number from {lo} to {hi}, got {got}"),
    ("setting", problems.WHOLE_NUMBER + "_from"): N_("must be a whole number of at least {lo}, got {got}"),
    ("setting", problems.ABOVE_0_TO_1): N_("must be above 0 and at most 1, got {got}"),
    ("setting", problems.FROM_0_TO_1): N_("must be from 0 to 1, got {got}"),
    ("setting", problems.POSITIVE): N_("must be a number above 0, got {got}"),
    ("setting", problems.POSITIVE_TEMPERATURE): N_(
        "must be a number above 0, got {got} (for a temperature near 0 choose greedy)"
    ),
    ("setting", problems.NOT_WHOLE): N_("must be a whole number, got {got}"),
    ("setting", problems.NOT_NUMBER): N_("must be a number, got {got}"),
    ("setting", problems.NOT_NUMBER_LIST): N_("must be a comma-separated list of numbers, got {got}"),
    ("setting", problems.EMPTY_LIST): N_("needs at least one number, e.g. '64, 64'"),
    ("setting", problems.PROBABILITY): N_("must be at least 0 and below 1, got {got}"),
    ("setting", problems.LAYER_COUNT): N_("needs 1 to {max} layers, got {got}"),
    ("setting", problems.PER_LAYER): N_("needs one value per LSTM layer ({layers}), got {got}"),
    ("setting", problems.EACH_WIDTH): N_("must each be a whole number from 1 to {max}: {bad}"),
    ("setting", problems.EACH_PROBABILITY): N_("must each be at least 0 and below 1: {bad}"),
    ("setting", problems.STRIDE): N_(
        "must be a whole number from 1 to the sequence length ({seq_len}) so no token is skipped, got {got}"
    ),
    ("setting", problems.MIN_OVER_LENGTH): N_(
        "({min} notes) cannot be more than the length ({length} tokens): every note takes at least one token"
    ),
    ("setting", problems.MIN_OVER_MOST): N_("({min} notes) cannot be more than the most notes ({most})"),
    ("setting", problems.SHORT_TERM_TOKENS): N_("needs the event tokens (one token per note), or 0"),
    # The data as a whole (DataConfigError's own codes).
    ("data", "too_few_groups"): N_(
        "only {groups} hymn-tune groups: too few to fill training, validation and test; use more melodies"
    ),
    ("data", "no_windows"): N_(
        "the training melodies are shorter than one sequence: use more melodies or a shorter sequence length"
    ),
    # A melody too long to look inside over (InspectionError).
    ("inspection", "too_long"): N_("the melody has {events} notes and rests; this page shows at most {max}"),
    # A model file (CheckpointError): what follows "cannot be loaded: ".
    ("checkpoint", ckpt.DAMAGED): N_("the file is damaged or is not a bachlstm model"),
    ("checkpoint", ckpt.NOT_FOUND): N_("there is no model named {name}"),
    ("checkpoint", ckpt.UNREADABLE): N_("the server cannot read the file"),
    ("checkpoint", ckpt.NEWER_FORMAT): N_(
        "the file was written by a newer bachlstm (format {version}; this server reads up to {supported}): "
        "update this server"
    ),
    ("checkpoint", ckpt.TOO_LARGE): N_(
        "its weights need {mb} MB, more than this server's limit of {limit} MB"
    ),
    ("checkpoint", ckpt.CHANGED): N_("the file changed while it was read: try again"),
    ("checkpoint", ckpt.NOT_REGULAR): N_("it is not a regular file, so it is never opened"),
    ("checkpoint", ckpt.NAME_EMPTY): N_("the run name is empty: give the run a name such as my-run-1"),
    ("checkpoint", ckpt.NAME_NOT_ALLOWED): N_(
        "the run name {name} is not allowed: use 1 to {max} letters, digits, '-', '_' or '.', starting "
        "with a letter or digit (no '..', slashes or spaces)"
    ),
    ("checkpoint", ckpt.NAME_DEVICE): N_(
        "{name} cannot be a run name: Windows reserves {device} for a device; choose another name"
    ),
    ("checkpoint", ckpt.NAME_SHIPPED): N_(
        "the run name {name} belongs to a shipped model: choose another name"
    ),
    ("checkpoint", ckpt.NAME_TAKEN): N_(
        "a run named {name} already exists: choose another name (nothing is overwritten)"
    ),
    ("checkpoint", ckpt.NAME_TAKEN_UNUSABLE): N_(
        "something named {name} is already there and is not a usable model (it is never overwritten): "
        "choose another name"
    ),
    # The corpus cache (CorpusCacheError): what follows "The corpus could not be loaded: ".
    ("corpus_cache", "damaged"): N_("its cache file is damaged"),
    ("corpus_cache", "missing"): N_("its cache file is missing"),
    ("corpus_cache", "stale"): N_("its cache file was made by another version of bachlstm or music21"),
    # A run over this server's limits (BudgetError); then BUDGET_LOWER or BUDGET_NO_SETTING.
    ("budget", limits.MEMORY): N_(
        "This run needs about {need_mb} MB of memory, more than this server's limit of {limit_mb} MB."
    ),
    ("budget", limits.STEP_TIME): N_(
        "This run takes about {step_s} s per training step, more than this server's limit of {limit_s} s "
        "(which lets Stop answer at once)."
    ),
    ("budget", limits.RUN_TIME): N_(
        "This run would take about {run_s}, more than this server's limit of {limit_s}."
    ),
    ("budget", limits.ENV_NUMBER): N_("The server's setting {name} must be a positive number, not {got}."),
    ("budget", limits.ENV_WHOLE): N_("The server's setting {name} must be a whole number, not {got}."),
    # The training queue (JobError).
    ("job", jobs.NAME_TAKEN): N_(
        "a run named {name} already exists: choose another name (nothing is overwritten)"
    ),
    ("job", jobs.QUEUE_FULL): N_("the training queue is full ({waiting} runs waiting): try again later"),
    ("job", jobs.UNKNOWN_JOB): N_(
        "the server no longer knows that training run (finished runs are forgotten after a while)"
    ),
    ("job", jobs.ENV_WHOLE): N_(
        "the server's setting {name} must be a whole number of at least 1, not {got}"
    ),
    ("job", jobs.OWNER_BUSY): N_(
        "{owner} already has runs queued or training ({runs}); this server allows {limit} at a time: stop "
        "one first"
    ),
    # Why a training run failed (workers.problem_of): what follows "Training failed: ".
    ("training", workers.FAILED): N_("an unexpected error ({error}); the server's log has the details"),
    ("training", workers.OUT_OF_MEMORY): N_(
        "out of memory (try a smaller model, batch size or sequence length)"
    ),
    ("training", workers.NO_RESULT): N_("the run ended without a result"),
    ("training", workers.PROCESS_ENDED): N_("the training process crashed (exit code {exitcode})"),
    ("training", workers.PROCESS_ENDED + "_signal"): N_(
        "the training process was ended by {signal} (out of memory, or ended by hand)"
    ),
    ("training", workers.PROCESS_ENDED + "_silent"): N_("the training process stopped answering"),
    # Why a run stopped or ended early (jobs.STOP_TEXTS).
    ("stop", jobs.BY_USER): N_("the Stop button was pressed"),
    ("stop", jobs.BY_TEACHER): N_("the teacher stopped it"),
    ("stop", jobs.SWEEP_STOPPED): N_("the sweep was stopped"),
    ("stop", jobs.SHUTDOWN): N_("the server was shutting down"),
    ("stop", jobs.TIME_LIMIT): N_("the server's time limit of {minutes} min was reached"),
    ("stop", jobs.EARLY): N_("early stopping: the validation loss did not improve for {patience} epochs"),
    ("records", records.LOCKED): N_(
        "The class's records ({path}) are busy: another program holds them. Try again in a minute."
    ),
    ("records", records.DAMAGED): N_(
        "The class's records ({path}) are damaged, so names and owners cannot be saved now. The teacher "
        "page can set the file aside (it is kept) and start a fresh one."
    ),
    ("records", records.NEWER_SCHEMA): N_(
        "The class's records ({path}) were written by a newer bachlstm: update this server."
    ),
    ("records", records.UNAVAILABLE): N_("The class's records ({path}) cannot be opened: {reason}"),
    ("student", students.EMPTY): N_("Please type your name: at least one letter or digit."),
    ("student", students.TOO_LONG): N_("A name can have at most {max} characters; this one has {length}."),
    ("student", students.BAD_CHARACTERS): N_(
        "A name can have letters, digits, spaces, hyphens, apostrophes and dots, but not {chars}."
    ),
}


# The library's other codes a page shows: the selection's voices (selection.VOICES), the modes.
VOICE_WORDS = {
    "first": N_("first part"),
    "soprano": N_("soprano"),
    "alto": N_("alto"),
    "tenor": N_("tenor"),
    "bass": N_("bass"),
    "all": N_("all parts"),
}
MODE_WORDS = {"major": N_("major"), "minor": N_("minor")}


# A token's type (Tokenizer.token_type) in a reader's words.
TOKEN_TYPE_WORDS = {
    "pad": N_("padding"),
    "unk": N_("unknown"),
    "bos": N_("start (BOS)"),
    "eos": N_("end (EOS)"),
    "separator": N_("separator"),
    "rest": N_("rest"),
    "note": N_("note"),
    "pitch": N_("pitch"),
    "octave": N_("octave"),
    "duration": N_("duration"),
    "dots": N_("dots"),
    "bar": N_("bar line"),
    "tie": N_("tie"),
}


def token_type_words(kind: str) -> str:
    """A token type ('bos', 'pitch') in the page's language."""
    return _(TOKEN_TYPE_WORDS[kind]) if kind in TOKEN_TYPE_WORDS else kind


# The Sampling page's labels of its settings: the page shows them, the glossary's "where it appears" and
# the class board's line under a shared melody name the same setting by the same words.
LENGTH_LABEL = N_("Length (notes)")
MIN_LENGTH_LABEL = N_("Minimum notes")
PRIMER_LABEL = N_("Primer")
PRIMER_NONE = N_("none")  # the primer choice "none"
NEXT_TOKEN_EXPLORER = N_("Next-token explorer")
SAMPLING_CONTROLS = (LENGTH_LABEL, MIN_LENGTH_LABEL, PRIMER_LABEL, NEXT_TOKEN_EXPLORER)


# The sampling methods (sampling.METHODS): their technical names, "temperature" in the page's language.
METHOD_WORDS = {
    "greedy": N_("greedy"),
    "top-k": N_("top-k"),
    "top-p": N_("top-p"),
    "temperature": N_("temperature"),
}


def method_words(method: str) -> str:
    """A sampling method ('temperature') in the page's language (Temperatur)."""
    return _(METHOD_WORDS[method]) if method in METHOD_WORDS else method


# The comparison's reference row (style.compare_styles' label for the validation melodies).
ROW_WORDS = {"Bach (validation)": N_("Bach (validation)")}


def method_label(label: str) -> str:
    """A method's label as the library writes it ('temperature (T=1.2)', 'top-k (k=8) #2') with the
    method named in the page's language, its settings' numbers in the reader's format ('Temperatur
    (T=1,2)'). The Bach row in words too."""
    if label in ROW_WORDS:
        return _(ROW_WORDS[label])
    for method in METHOD_WORDS:
        if label == method or label.startswith(method + " "):
            settings = label[len(method) :]
            if current_language() == "de":
                settings = re.sub(r"(?<=\d)\.(?=\d)", ",", settings)
            return method_words(method) + settings
    return label


def voice_words(voice: str) -> str:
    """A voice ('soprano', 'first', 'all', or a part's own name) in the page's language."""
    return _(VOICE_WORDS[voice]) if voice in VOICE_WORDS else voice


def mode_words(mode: str) -> str:
    """'major' / 'minor' in the page's language (Dur / Moll)."""
    return _(MODE_WORDS[mode]) if mode in MODE_WORDS else mode


def shown(value: object) -> str:
    """A problem's value as a reader sees it: whole numbers grouped in the page's language, text as is."""
    if isinstance(value, int) and not isinstance(value, bool):
        return number(value)
    if isinstance(value, float):
        return (
            f"{value:g}"
            if abs(value) < 1e-3 or abs(value) >= 1e6
            else number(value, 3).rstrip("0").rstrip(".,")
        )
    return str(value)


# What follows a budget refusal: the setting to lower and how far, or that none alone is enough.
BUDGET_LOWER = N_(
    "Lower **{setting}** to at most {best} (or raise the limit on a machine that has more to spare)."
)
BUDGET_NO_SETTING = N_("No single setting brings it under the limit: choose a smaller model.")


def format_seconds(seconds: float | None) -> str:
    """'1 h 02 min', '3 min 05 s', '42 s'; '?' when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


def sentence(kind: str, code: str, values: Mapping[str, object], english: str | None = None) -> str:
    """The sentence for (kind, code) with its values filled in; `english` (or the code) where none exists."""
    template = SENTENCES.get((kind, code))
    if template is None:
        return english if english is not None else f"{kind} {code}: {dict(values)}"
    return _(template).format(**{k: shown(v) for k, v in values.items()})


def budget_sentence(
    code: str, values: Mapping[str, object], label: Callable[[str], str] | None = None
) -> str:
    """A BudgetError in words: what is over which limit, then the setting to lower (by its form label)."""
    v = dict(values)
    if code == limits.MEMORY:
        v.update(need_mb=round(v["need_mb"]), limit_mb=round(v["limit_mb"]))
    elif code == limits.STEP_TIME:
        v.update(step_s=number(v["step_s"], 1), limit_s=f"{v['limit_s']:g}")
    elif code == limits.RUN_TIME:
        v.update(run_s=format_seconds(v["run_s"]), limit_s=format_seconds(v["limit_s"]))
    field, best = v.pop("field", None), v.pop("best", None)
    head = sentence("budget", code, v)
    if code not in (limits.MEMORY, limits.STEP_TIME, limits.RUN_TIME):
        return head
    if field is None:
        return f"{head} {_(BUDGET_NO_SETTING)}"
    setting = label(field) if label else field
    return f"{head} {_(BUDGET_LOWER).format(setting=setting, best=number(best))}"


def coded_sentence(
    kind: str, code: str, values: Mapping[str, object], label: Callable[[str], str] | None = None
) -> str:
    """A library code with its values (a CodedError's, a failed run's `problem`) in the page's words.

    `label` names a setting by its form label (a budget refusal says which one to lower).
    """
    v = dict(values)
    if kind == "budget":
        return budget_sentence(code, v, label)
    if kind == "training" and code == workers.PROCESS_ENDED:
        code += "_signal" if v.get("signal") else "" if v.get("exitcode") is not None else "_silent"
    if kind == "stop" and "minutes" in v:
        v["minutes"] = f"{v['minutes']:g}"
    return sentence(kind, code, v)


def checkpoint_problem(info) -> str:
    """Why a listed checkpoint (CheckpointInfo) cannot be used, in the page's words."""
    if info.error_code:
        return coded_sentence("checkpoint", info.error_code, info.error_values)
    return info.error or ""


def stop_words(job) -> str:
    """Why a training job stopped or ended early (jobs.STOP_TEXTS), in the page's words; "" if it did not."""
    return coded_sentence("stop", job.stop_code, job.stop_values) if job.stop_code else ""


def failure_words(job) -> str:
    """Why a training job failed, in the page's words (its `problem`; its English error where it has none)."""
    if job.problem:
        kind, code, values = job.problem
        return _("Training failed: {why}").format(why=coded_sentence(kind, code, values))
    return job.error or ""


def problem_sentence(problem: problems.Problem) -> str:
    """One bad setting's "must be ..." part in the page's language (the label goes before it)."""
    values = dict(problem.values)
    code = problem.code
    if code == problems.WHOLE_NUMBER and values.get("hi") is None:
        code = problems.WHOLE_NUMBER + "_from"
    if "got" in values and code not in (problems.LAYER_COUNT, problems.PER_LAYER):  # those: counts
        values["got"] = repr(values["got"])  # the value as the student typed it, in any language
    if "bad" in values:  # ((layer, value), ...): "layer 2 is 0, layer 3 is -1"
        values["bad"] = ", ".join(
            _("layer {layer} is {value}").format(layer=layer, value=repr(value))
            for layer, value in values["bad"]
        )
    return sentence("setting", code, values, english=problem.text)


def describe(exc: BaseException, label: Callable[[str], str] | None = None) -> str:
    """Any error the library raises, as one sentence (or lines) in the page's language.

    `label` names a setting by its form label (a budget refusal says which setting to lower).
    """
    coded = problems.code_of(exc)
    if coded is not None:
        return coded_sentence(*coded, label=label)
    from bachlstm.music.notices import NoticeError

    if isinstance(exc, NoticeError):
        return exc.notice.worded(notice_template(exc.notice), current_language())
    if isinstance(exc, OSError):  # the system's own words are English: the page says what it means
        return _("the server cannot read or write a file it needs")
    if isinstance(exc, records.RecordsError):
        return sentence("records", exc.code, {"reason": "", **exc.values}, english=str(exc))
    if isinstance(exc, students.StudentNameError):
        values = dict(exc.values)
        if "chars" in values:
            values["chars"] = " ".join(values["chars"])  # each refused character apart: "! ?"
        return sentence("student", exc.code, values, english=str(exc))
    found = problems.problems_of(exc)
    if found:
        return "; ".join(f"{p.field} {problem_sentence(p)}" for p in found)
    return str(exc)


def notice_template(notice) -> str:
    """A reading notice's words in the page's language, before its values: singular or plural as its
    count says (bachlstm.music.notices.TEXTS)."""
    from bachlstm.music.notices import TEXTS

    words = TEXTS[notice.code]
    return ngettext(*words, notice.plural_n) if isinstance(words, tuple) else _(words)
