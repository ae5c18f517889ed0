"""Drawing parts of the Training page (streamlit), kept apart so the page itself stays a short script."""

import contextvars
import time

import pandas as pd
import streamlit as st

from app_pages.charts import history_chart, history_frame, localized, progress_frame, training_charts
from app_pages.common import (
    check_cost,
    current_student,
    job_manager,
    mtime,
    training_history,
    usable_checkpoints,
    wait_estimates,
)
from app_pages.forms import TRAINING_FIELDS, form_defaults
from app_pages.i18n import N_, ngettext, number, percent, translator
from app_pages.messages import describe, failure_words, stop_words
from app_pages.tables import show_table
from app_pages.terms import glossary_link, with_glossary
from app_pages.texts import (
    MISSING,
    NOT_YET_CHARTED,
    format_seconds,
    job_status_words,
    progress_text,
    queue_state_words,
    server_load_words,
    shown_headers,
)
from bachlstm.classroom.ownership import same_student
from bachlstm.model.checkpoints import CheckpointError
from bachlstm.training.jobs import DONE, FAILED, QUEUED, STOPPED, STOPPING

_ = translator(__name__)


def draw_job(job_id: str, live: bool = False) -> None:
    """Status, progress bar, live chart and final figures of one training job."""
    manager = job_manager()
    job = manager.find(job_id)
    if job is None:
        st.info(
            _("That training job has been cleared from the server; its checkpoint (if any) stays in runs/.")
        )
        return
    records = job.progress()
    st.subheader(
        _("Run {name}: {status}").format(name=job.name, status=job_status_words(job.status)),
        anchor=RUN_ANCHOR,
    )
    if job.status == QUEUED:
        wait = wait_estimates().get(job.id)
        st.info(
            ngettext(
                "Waiting for a free training slot: number {position} in the queue, about {wait} to wait "
                "(this server trains {slots} model at a time).",
                "Waiting for a free training slot: number {position} in the queue, about {wait} to wait "
                "(this server trains {slots} models at a time).",
                manager.max_running,
            ).format(
                position=manager.queue_position(job.id), wait=format_seconds(wait), slots=manager.max_running
            )
        )
    elif job.is_active:
        fraction, text = progress_text(records[-1] if records else None)
        if job.status == STOPPING:
            text += _(" · stopping after this batch ...")
        st.progress(fraction, text=text)
    elif job.status == DONE:
        took = format_seconds((job.finished or 0) - (job.started or 0))
        st.success(
            _("Finished in {took}: saved as **{name}**, ready on the Sampling page.").format(
                took=took, name=_saved_name(job)
            )
        )
        if job.stop_code:  # ended before its last epoch by itself (early stopping)
            st.caption(_("It ended before its last epoch: {why}.").format(why=stop_words(job)))
    elif job.status == STOPPED:
        saved = (
            _("saved as **{name}**").format(name=_saved_name(job))
            if job.checkpoint
            else _("nothing was saved")
        )
        why = stop_words(job)
        if why:
            st.warning(_("Training stopped ({why}): {saved}.").format(why=why, saved=saved))
        else:
            st.warning(_("Training stopped: {saved}.").format(saved=saved))
    elif job.status == FAILED:
        st.error(failure_words(job))
    if records:
        frame = _chart_frame(job, records) if live else progress_frame(records, job.name)
        for col, (data, spec), waiting in zip(st.columns(2), training_charts(frame), NOT_YET_CHARTED):
            if spec is None:  # no point yet: a sentence says when one comes, not an empty frame
                col.caption(_(waiting))
            else:
                col.vega_lite_chart(data, localized(spec), width="stretch")
    if job.metrics:
        m = job.metrics
        cols = st.columns(4)
        cols[0].metric(
            _("Validation perplexity"), _fmt(m.get("val_perplexity")), help=glossary_link("perplexity")
        )
        unscored = _("not scored") if job.status == STOPPED else "?"
        why = _(
            "A stopped run is not scored on the test split, so Stop answers at once. Continue it to score it."
        )
        cols[1].metric(
            _("Test perplexity"),
            _fmt(m.get("test_perplexity"), none=unscored),
            help=with_glossary(why, "perplexity"),
        )
        cols[2].metric(_("Test top-1 accuracy"), _fmt(m.get("test_top1"), pct=True, none=unscored), help=why)
        cols[3].metric(_("Best epoch"), m.get("best_epoch", "?"))
    if job.status in (DONE, STOPPED) and job.checkpoint:
        st.page_link(
            "app_pages/sampling.py", label=_("Generate music with this model"), icon=":material/queue_music:"
        )
    if live and job.is_final:
        st.rerun()  # the whole page: the Stop button and the run lists change


def _saved_name(job) -> str:
    # A run that did not beat the file it continues is kept beside it, as NAME.partial (run_files).
    return job.checkpoint.name.removesuffix(".safetensors") if job.checkpoint else job.name


def _chart_frame(job, records: list):
    """The live chart's data, renewed at most every CHART_EVERY_S seconds (and at each epoch's end).

    In between, the fragment sends the very same chart again, which Streamlit passes to the browser
    as a reference to the copy it already has: a watched run costs a small progress bar per second.
    """
    epochs = sum(r.kind == "epoch" for r in records)
    kept = st.session_state.get("train_chart")
    now = time.monotonic()
    if kept is None or kept[0] != job.id or kept[1] != epochs or now - kept[2] >= CHART_EVERY_S:
        kept = (job.id, epochs, now, progress_frame(records, job.name))
        st.session_state.train_chart = kept
    return kept[3]


def _draw_queued(job_id: str) -> None:
    """A waiting run: redrawn every few seconds; once it starts (or is gone) the whole page changes."""
    job = job_manager().find(job_id)
    if job is None or job.status != QUEUED:
        st.rerun()
    draw_job(job_id)


def _fmt(value, pct: bool = False, none: str = "?") -> str:
    if value is None:
        return none
    return percent(value, 1) if pct else number(value, 2)


def draw_queue(manager) -> None:
    """The server's training slots and queue (other students' runs too, without their names)."""
    me = current_student()
    jobs = [j for j in manager.jobs() if j.is_active]
    st.caption(server_load_words(len(manager.running()), manager.max_running, len(manager.queue())))
    if jobs:
        waits = wait_estimates()
        rows = [
            {
                "run": j.name if same_student(j.owner, me) else _("(another student)"),
                "state": queue_state_words(j.status, manager.queue_position(j.id)),
                "wait": format_seconds(waits[j.id]) if j.id in waits else "",
                "yours": _("yes") if same_student(j.owner, me) else _("no"),
            }
            for j in jobs
        ]
        show_table(st, shown_headers(pd.DataFrame(rows)), hide_index=True, placeholder=MISSING)


def draw_other_runs(shown) -> None:
    """The student's other runs queued or training (a server that allows several), each with Stop."""
    manager = job_manager()
    others = [j for j in manager.active_for(current_student()) if shown is None or j.id != shown.id]
    if not others:
        return
    st.subheader(_("Your other runs"))
    for job in others:
        left, right = st.columns([4, 1])
        left.write(f"**{job.name}**: {queue_state_words(job.status, manager.queue_position(job.id))}")
        right.button(
            _("Stop"),
            key=f"stop_{job.id}",
            disabled=job.status == STOPPING,
            on_click=manager.stop,
            args=(job.id,),
        )


# This page run's sidebar slot for the run's line when it was left empty (no run yet): the sidebar is
# drawn before the page, so a run started by this page run is shown there by `fill_run_status`.
_empty_status_slot: contextvars.ContextVar = contextvars.ContextVar("bachlstm_status_slot", default=None)


def draw_run_status() -> None:
    """The sidebar's line about this student's run (every page): live while it is queued or training.
    Drawn into a container of its own; left empty, it is kept for `fill_run_status`."""
    slot = st.container()
    with slot:
        drawn = _draw_run_status()
    _empty_status_slot.set(None if drawn else slot)


def fill_run_status() -> None:
    """After the page started a run: its line in the sidebar slot this page run left empty (without it
    the sidebar said nothing until the next full rerun of the page)."""
    slot = _empty_status_slot.get()
    if slot is not None:
        with slot:
            if _draw_run_status():
                _empty_status_slot.set(None)


def _draw_run_status() -> bool:
    manager = job_manager()
    job = manager.find(st.session_state.get("train_job"))
    active = manager.active_for(current_student()) if current_student() else []
    if job is None or not same_student(job.owner, current_student()):
        job = active[-1] if active else None
    if job is None:
        return False
    if job.is_active:
        live_status(job.id)
    else:
        _status_line(job.id)
    return True


RUN_ANCHOR = "run-progress"  # the followed run's heading: the line under Start links down to it


def draw_started(job) -> None:
    """Under the Start button: the student's run in a line (live while queued or training) and a link
    down to its progress bar and chart, which at 800 px lie a screen or more below the button."""
    if job.is_active:
        live_status(job.id)
    else:
        _status_line(job.id)
    words = _("Progress and loss chart of this run")  # outside the f-string: the extractor finds it
    st.markdown(f"[{words} ↓](#{RUN_ANCHOR})")


def _status_line(job_id: str) -> None:
    manager = job_manager()
    job = manager.find(job_id)
    if job is None:
        return
    if job.status == QUEUED:
        wait = format_seconds(wait_estimates().get(job.id))
        text = _("Training **{name}**: number {position} in the queue, about {wait} to wait").format(
            name=job.name, position=manager.queue_position(job.id), wait=wait
        )
    else:
        latest = job.latest()
        done = (
            _(" · step {step}/{total}").format(step=latest.step, total=latest.total_steps) if latest else ""
        )
        text = _("Training **{name}**: {status}{done}").format(
            name=job.name, status=job_status_words(job.status), done=done
        )
    st.caption(text)


ALL_TOKENIZERS = N_("all (losses do not compare)")  # the choice of every tokenizer, translated when shown


def draw_compare() -> None:
    """Overlay the histories of saved runs and shipped models (from checkpoint metadata)."""
    st.subheader(_("Compare runs"))
    usable, _broken = usable_checkpoints()
    if not usable:
        st.info(_("No saved model yet: finished or stopped runs appear here."))
        return
    job = job_manager().find(st.session_state.get("train_job"))
    names = {info.name for info in usable}
    mine = [job.name] if job is not None and job.name in names else []
    tokenizers = sorted({info.tokenizer or "?" for info in usable})
    # Per-token losses of the two tokenizers do not compare (a factored note is five easy tokens): the
    # overlay shows one tokenizer's runs unless the student asks for all.
    if mine and st.session_state.get("compare_added") != job.id:
        # The user's own run joins the overlay once, when it is saved, with its tokenizer's runs. (A
        # `default` that changes is not enough: a run that finished by itself, redrawn through the live
        # fragment, was left out.)
        st.session_state.compare_added = job.id
        own = next(info.tokenizer for info in usable if info.name == job.name)
        st.session_state.compare_tokenizer = own
        st.session_state.compare = [*st.session_state.get("compare", []), *mine]
    if st.session_state.get("compare_tokenizer") not in [*tokenizers, ALL_TOKENIZERS]:
        newest = next((info for info in usable if not info.shipped), usable[0])  # user runs newest first
        st.session_state.compare_tokenizer = newest.tokenizer or "?"
    kind = st.radio(
        _("Tokenizer"),
        [*tokenizers, ALL_TOKENIZERS],
        format_func={
            t: _(t) if t == ALL_TOKENIZERS else t for t in [*tokenizers, ALL_TOKENIZERS]
        }.__getitem__,
        key="compare_tokenizer",
        horizontal=True,
        help=_(
            "Loss and accuracy are per token, and the tokenizers cut a note into different tokens: "
            "curves of two tokenizers do not compare."
        ),
    )
    by_name = {i.name: i for i in usable if kind == ALL_TOKENIZERS or (i.tokenizer or "?") == kind}
    if "compare" not in st.session_state:
        st.session_state.compare = [info.name for info in usable if info.shipped] + mine
    # runs deleted from disk since the last rerun, or of another tokenizer, are no choice here
    kept = list(dict.fromkeys(n for n in st.session_state.compare if n in by_name))
    st.session_state.compare = kept or [n for n, i in by_name.items() if i.shipped] or list(by_name)[:1]
    chosen = st.multiselect(_("Runs to overlay"), list(by_name), key="compare")
    histories = {}
    for name in chosen:
        path = by_name[name].path
        try:
            histories[name] = training_history(str(path), mtime(path))
        except CheckpointError as exc:
            st.error(_("{name}: {error}").format(name=name, error=describe(exc)))
    frame = history_frame(histories)
    if frame.empty:
        st.info(_("The chosen runs have no per-epoch history to show."))
    else:
        st.altair_chart(localized(history_chart(frame)))
        if kind == ALL_TOKENIZERS:
            st.caption(
                _(
                    "Loss and accuracy are per token: compare runs that use the same tokenizer (a factored "
                    "note is five easy tokens, an event token is a whole note)."
                )
            )


# A running job is redrawn about once a second, a queued one every QUEUED_EVERY_S seconds (a class
# of students waiting must cost the server little); a finished job is drawn once with draw_job.
CHART_EVERY_S = 5.0
live_job = st.fragment(run_every=1)(draw_job)
# The sidebar line, on every page: a few words every STATUS_EVERY_S seconds while the run is active.
STATUS_EVERY_S = 2.0
# A queued run's box says its place and wait as the line under Start and the queue table do: redrawn as
# often, or for up to 5 s after the queue moved the page said "number 1, about 6 s" in the line and
# "number 2, about 53 s" in the box (newcomer trial).
QUEUED_EVERY_S = STATUS_EVERY_S
live_status = st.fragment(run_every=STATUS_EVERY_S)(_status_line)
live_queued = st.fragment(run_every=QUEUED_EVERY_S)(_draw_queued)
# The queue table's waits change as the runs ahead progress: redrawn like the line under Start.
live_queue = st.fragment(run_every=STATUS_EVERY_S)(draw_queue)


def draw_queue_table(manager) -> None:
    """The queue table, live while any run is queued or training (its waits then change)."""
    (live_queue if any(j.is_active for j in manager.jobs()) else draw_queue)(manager)


def draw_run_settings(job, form_values: dict) -> None:
    """Under Start, for the followed run where the form shows other settings (the form is for the next
    run; a reload brings its defaults back): the run's own settings and its own estimated cost."""
    ran = form_defaults(job.config)
    differ = [n for n in TRAINING_FIELDS if str(ran[n]) != str(form_values.get(n, ran[n]))]
    if not differ:
        return
    settings = "; ".join(f"{_(TRAINING_FIELDS[n][0])} **{ran[n]}**" for n in differ)
    try:
        cost = format_seconds(check_cost(job.config).run_s)
    except ValueError:
        cost = "?"
    st.caption(
        _(
            "**{name}** trains with its own settings: {settings}; about {cost} of training in all on a "
            "laptop CPU. The form above and its estimate are for your next run."
        ).format(name=job.name, settings=settings, cost=cost)
    )
