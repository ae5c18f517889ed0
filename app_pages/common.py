"""What the pages share: cached resources (corpus, models, the job manager) and per-session state."""

from __future__ import annotations

import contextlib
import gc
import os
import time
from pathlib import Path

import streamlit as st

from app_pages.i18n import current_language, translator
from app_pages.messages import checkpoint_problem, describe
from bachlstm.classroom import records
from bachlstm.corpus import overview
from bachlstm.corpus.cache import load_corpus
from bachlstm.corpus.selection import SelectionConfig, select
from bachlstm.music import audio, render
from bachlstm.music.events import Event
from bachlstm.training.jobs import JobManager

_ = translator(__name__)

# Every setting a student makes (Sampling, the Training form, the Corpus filters) is a widget with
# persist_state=SESSION: it keeps its value when the student opens another page and comes back.
SESSION = "session"


@st.cache_resource(show_spinner="Loading the Bach corpus ...")
def corpus():
    """The corpus, loaded once per server (read-only: shared by every session)."""
    return load_corpus()


@st.cache_resource
def job_manager() -> JobManager:
    """The server's one job manager: its limit on concurrent training holds for all sessions.

    Each job's state goes into the class's records as it starts and ends (the teacher's view and a
    restarted server read them there)."""
    kept = class_records()

    def note_state(job) -> None:
        with contextlib.suppress(records.RecordsError):  # the pages say a records problem, not the worker
            kept.set_state(job.name, job.status)

    return JobManager(on_change=note_state)


TEACHER = "teacher_signed_in"  # session_state: True once this session gave the teacher PIN (teacher.py)


def teacher_signed_in() -> bool:
    """Whether this session is the teacher's (the teacher page's PIN given in it)."""
    return bool(st.session_state.get(TEACHER))


@st.cache_resource
def class_records() -> records.ClassRecords:
    """The class's records (students, run owners, shares): one file per server (records.database_path)."""
    return records.ClassRecords()


def records_problem_text(exc: records.RecordsError) -> str:
    """A problem with the class's records as a sentence; the page goes on without them."""
    return describe(exc)


@st.cache_resource(max_entries=8, show_spinner="Loading the model ...")
def checkpoint(path: str, mtime: float):
    """A loaded checkpoint, keyed by file and modification time (a re-saved run is loaded afresh).

    Shared by sessions: generation only reads the model (eval mode, no gradients), never changes it.
    """
    from bachlstm.model.checkpoints import load_checkpoint  # late: torch takes ~2 s to import

    return load_checkpoint(path)


STUDENT = "student"  # the session state key and the address parameter of this tab's student


def current_student() -> str:
    """This tab's student (identity.require_student asked for the name before the page ran); '' before."""
    return st.session_state.get(STUDENT) or ""


@st.cache_data(max_entries=16, show_spinner="Measuring the training data ...")
def data_size(preset_name: str, max_melodies: int | None):
    """How much data a preset trains on (budget.DataSize), once per preset and melody cap per server."""
    from bachlstm.corpus.selection import select
    from bachlstm.training.presets import get_preset
    from bachlstm.training.run_data import preset_data_size

    preset = get_preset(preset_name, max_melodies=max_melodies)
    return preset_data_size(preset, list(select(corpus(), preset.selection).melodies))


def check_cost(preset):
    """The run's budget.Estimate, or budget.BudgetError naming the setting to lower (data size cached)."""
    from bachlstm.training.budget import check_preset

    return check_preset(preset, data_size(preset.name, preset.train.max_melodies))


# How often the server's wait estimates are made anew. Every place that shows a wait (the line under
# Start, the queued run's box, the queue table, the teacher page) reads the same snapshot: made at each
# its own moment, one run showed "about 2 s to wait" in its line and "6 s" in the table.
WAITS_EVERY_S = 5.0


def wait_estimates() -> dict[str, float]:
    """Each queued job's estimated wait in seconds (classroom.waits, from the cost of the runs ahead):
    one snapshot for the whole server per WAITS_EVERY_S seconds and state of the queue."""
    now = time.time()
    queue = tuple((j.id, j.status) for j in job_manager().jobs() if j.is_active)
    return _waits_snapshot(now - now % WAITS_EVERY_S, queue)


@st.cache_resource(max_entries=4, show_spinner=False)
def _waits_snapshot(at: float, queue: tuple) -> dict[str, float]:
    """The waits as they stand when the snapshot is made (its key: the start `at` of its WAITS_EVERY_S
    interval and the queue's jobs and states). Made with the time it is made at, not `at`: a run that
    started after `at` with progress already made would have run for no time or less, and its pace (real
    over estimated time) read as far quicker than it is (the first queued run was told "about 3 s" for a
    wait of 35 s)."""
    from bachlstm.classroom.waits import job_waits

    def cost(job) -> float:
        try:
            return check_cost(job.config).run_s
        except ValueError:  # a setting the server now refuses: it costs nothing to wait for
            return 0.0

    return job_waits(job_manager(), cost, now=time.time())


@st.cache_resource
def startup_cleanup() -> list:
    """Once per server: remove temp files that killed processes left in runs/ (run_files)."""
    from bachlstm.model.checkpoints import runs_dir
    from bachlstm.training.run_files import remove_stale_temp_files

    return remove_stale_temp_files([runs_dir()])


@st.cache_data(max_entries=64, show_spinner=False)
def training_history(path: str, mtime: float) -> list[dict]:
    """A checkpoint's per-epoch history from its metadata (no weights loaded); [] when it has none."""
    from bachlstm.model.checkpoints import read_meta

    return list(read_meta(path).get("history") or [])


def run_owners() -> list:
    """Every checkpoint with its owner and whether it is shared (ownership.Visibility), shipped first.

    The owners come from the class's records, else from each checkpoint's metadata (a records problem
    is said once per run of the page).
    """
    from bachlstm.classroom.ownership import run_owners as owners
    from bachlstm.model.checkpoints import list_checkpoints

    try:
        kept = class_records().runs()
    except records.RecordsError as exc:
        _warn_once(records_problem_text(exc))
        kept = []
    return owners(list_checkpoints(), kept)


def visible_checkpoints() -> list:
    """The checkpoints this tab's student may see (shipped, theirs, shared, nobody's), broken ones too."""
    from bachlstm.classroom.ownership import visible_to

    return [v.info for v in visible_to(current_student(), run_owners())]


def usable_checkpoints() -> tuple[list, list]:
    """(loadable checkpoint infos, broken ones) this tab's student may see, shipped models first."""
    infos = visible_checkpoints()
    return [i for i in infos if not i.error], [i for i in infos if i.error]


def _warn_once(text: str) -> None:
    """A warning shown once per run of the page, however many parts ask for the same records."""
    said = st.session_state.setdefault(SAID, set())
    if text not in said:
        said.add(text)
        st.warning(text)


def new_page_run() -> None:
    """Forget which warnings this run said (streamlit_app.py calls it before each page runs)."""
    st.session_state[SAID] = set()


SAID = "_said_this_run"


def show_problem(info) -> None:
    """An error box for a broken checkpoint, a warning for a skipped file, nothing for a usable one."""
    if info.status == "skipped":
        st.warning(
            _("**{name}** in the runs folder is not a regular file: skipped, never opened.").format(
                name=info.name
            )
        )
    elif info.error:
        st.error(
            _("Checkpoint **{name}** cannot be used: {error}").format(
                name=info.name, error=checkpoint_problem(info)
            )
        )


def mtime(path) -> float:
    """A file's modification time (cache key), 0 when it is gone."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@st.cache_data(max_entries=32, show_spinner="Counting ...")
def corpus_overview(
    time_signatures: tuple, voice: str, lo: int | None, hi: int | None, tokenizer: str
) -> overview.CorpusOverview:
    """The Corpus page's figures for one choice of filters (computed once per choice, per server)."""
    config = SelectionConfig(time_signatures=time_signatures, voice=voice, min_events=lo, max_events=hi)
    return overview.corpus_overview(corpus(), config, tokenizer)


@st.cache_resource(max_entries=32)
def selection(time_signatures: tuple, voice: str, lo: int | None, hi: int | None):
    """The selected melodies for one choice of filters (shared, read-only)."""
    return select(corpus(), SelectionConfig(time_signatures, voice, lo, hi))


@st.cache_data(max_entries=32, show_spinner="Grouping tunes ...")
def tune_groups(time_signatures: tuple, voice: str, lo: int | None, hi: int | None):
    """The tunes set by several pieces of one selection (stats.tune_group_table)."""
    from bachlstm.corpus.stats import tune_group_table

    return tune_group_table(selection(time_signatures, voice, lo, hi).melodies)


@st.cache_data(max_entries=16, show_spinner="Engraving ...")
def melody_media(events: tuple, key_sharps: int | None, pickup: float | None, title: str) -> dict:
    """Sheet music (SVG pages), audio (OGG bytes or None) and MIDI bytes of one corpus melody."""
    from bachlstm.music import scores as music  # late: music21 is needed only for this page's MIDI

    kw = {"key_sharps": key_sharps, "pickup": pickup}
    return {
        "svg": render.to_svg(list(events), **kw),
        "audio": audio.to_ogg(list(events)),
        "midi": music.to_midi(list(events), title=title, **kw),
    }


@st.cache_resource
def render_cache() -> render.ContentCache:
    """The server's one cache of drawn columns and audio, by content (BACHLSTM_RENDER_CACHE_MB, 64)."""
    return render.ContentCache(int(os.environ.get("BACHLSTM_RENDER_CACHE_MB", "64")) * 2**20)


def column_view(
    events: tuple,
    n_primer: int,
    key_sharps: int | None = None,
    large: bool = False,
    page_width: int | None = None,
) -> dict:
    """A Sampling column's sheet music and piano roll, drawn once per content for the whole server.
    key_sharps: the staff's key signature (None: estimated from all the events); large: the focus view's
    page, as wide as the whole page (a column's is a quarter of it); page_width: another engraving
    width (the projector's `charts.PROJECTOR_PAGE_WIDTH`)."""
    from app_pages import charts  # late: altair takes a while to import, and Home needs none of it

    width = page_width or (charts.FOCUS_PAGE_WIDTH if large else charts.COLUMN_PAGE_WIDTH)

    def draw():
        return charts.melody_view(events, n_primer, page_width=width, key_sharps=key_sharps)

    # the roll's pitch names are the reader's (H in German): one drawing per language
    return render_cache().get(("view", events, n_primer, key_sharps, width, current_language()), draw)


def next_token_view(ck, context: tuple, configs: tuple, constrained: bool) -> dict:
    """The explorer's chart for one context: {"frame": `compare.next_token_frame`, "data": the frame as
    an Arrow table, "spec": `charts.next_token_chart`}, made once per content for the whole server: step
    1 of a Generate without a primer asks the same question every time."""
    import pyarrow as pa  # late, as charts: Home draws no chart

    from app_pages import charts  # late: altair takes a while to import, and Home needs none of it
    from bachlstm.reports.comparison import next_token_frame  # late: torch takes ~2 s to import

    def make():
        frame = next_token_frame(ck, context, configs, constrained=constrained)
        data = pa.Table.from_pandas(frame, preserve_index=False)  # sent as it is on every redraw
        return {"frame": frame, "data": data, "spec": charts.next_token_chart(frame)}

    weights = ck.meta.get("weights_sha256")
    if weights is None:  # no fingerprint of the weights: nothing safe to key the cache on
        return make()
    # The spec's titles are in the page's language: each language has its own entry.
    key = ("next", str(ck.path), weights, context, configs, constrained, current_language())
    return render_cache().get(key, make)


def column_audio(events: tuple) -> bytes | None:
    """A melody's OGG audio (None without notes), made once per content for the whole server."""
    return render_cache().get(("ogg", events), lambda: audio.to_ogg(events))


@st.cache_resource(max_entries=8, show_spinner=False)
def held_out_primers(path: str, mtime: float) -> tuple[list, list]:
    """The checkpoint's held-out melodies offered as primers and those left out (`primer_choices`)."""
    from bachlstm.generation.primer import primer_choices

    ref = reference(path, mtime)
    return primer_choices(ref.melodies, corpus()) if ref else ([], [])


@st.cache_resource(max_entries=8, show_spinner="Scoring the held-out Bach melodies ...")
def reference(path: str, mtime: float):
    """The checkpoint's held-out melodies, reference statistics and "Bach" metrics row (None if no split)."""
    from bachlstm.reports.comparison import checkpoint_reference

    try:
        return checkpoint_reference(checkpoint(path, mtime))
    except ValueError:  # a checkpoint without a recorded split: no Bach row, no memorization check
        return None


@st.cache_resource(max_entries=16, show_spinner=False)
def method_figures(path: str, mtime: float, knobs, constrained: bool, lengths: tuple):
    """Each method's figures against held-out Bach from 64 melodies of this model per method (no primer,
    seed 0, these knobs and `lengths`: compare_methods' length arguments as sorted items; the rest of
    `stored_figures.FigureSettings`' defaults), made once per server, model and setting and shared by
    every session; None without a held-out split.
    Figures stored beside the checkpoint for exactly these settings are read (`stored_figures`: the
    shipped models' defaults); otherwise the first Generate waits for them (about 10 s of CPU)."""
    from bachlstm.reports.stored_figures import FigureSettings, method_style, stored_figures

    settings = FigureSettings(knobs, constrained, lengths)
    stored = stored_figures(Path(path), settings)
    if stored is not None:
        return stored
    ref = reference(path, mtime)
    if ref is None:
        return None
    return method_style(checkpoint(path, mtime), ref, settings)


@st.cache_resource(max_entries=8, show_spinner=False)
def model_ready(path: str, mtime: float) -> bool:
    """Run the model once for a few tokens (first-call costs: thread pools, lazy inits) before a click."""
    from bachlstm.generation.generator import generate
    from bachlstm.generation.sampling import default_configs

    generate(checkpoint(path, mtime), default_configs(), length=8, seed=0)
    return True


@st.cache_resource(show_spinner=False)
def music_tools_ready() -> bool:
    """Initialise verovio and the synthesizer once per server, before the first click.

    The first engraving in a process costs imports and font loading; paying it while the Sampling page
    opens keeps "Generate" quick. (Each thread's verovio toolkit still loads its fonts once.)
    """
    note = [Event("note", 4.0, pitch="C", octave=4, midi=60, measure=1)]
    render.to_svg(note)
    audio.to_ogg(note)
    # What the server holds by now (the libraries, the corpus, the first model) stays for its life: out
    # of the cyclic garbage collector's reach (gc.freeze), its full collections no longer walk it. With 30
    # sessions generating they took 2.0 s of server CPU in a class benchmark; 0.75 s frozen.
    gc.collect()
    gc.freeze()
    return True
