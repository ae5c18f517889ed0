"""Drawing parts of the "Bach or model?" page: the pools (made once per server), a round before and
after its answer, the class's results, the teacher's choices.

Before the answer the page holds nothing that tells the excerpts apart but their sound: the labels are
"A" and "B", the players are the same length (`excerpts.excerpt_seconds`), the audio's address is a
hash of its bytes, and which excerpt is A was drawn with the round's key.
"""

from __future__ import annotations

import random
import time
import uuid

import streamlit as st

from app_pages import charts
from app_pages.common import checkpoint, class_records, column_view, mtime, records_problem_text, render_cache
from app_pages.i18n import translator
from app_pages.messages import method_words
from app_pages.tables import show_table
from app_pages.texts import MISSING
from bachlstm.classroom.listening import listening_results, student_scores
from bachlstm.classroom.records import ListeningRound, ListeningSettings, RecordsError
from bachlstm.generation.sampling import METHODS
from bachlstm.reports.excerpts import (
    BARS,
    DEFAULT_BARS,
    Excerpt,
    bach_excerpts,
    excerpt_audio,
    model_pool,
    pair,
)

CLASS_METHODS = ("top-k", "top-p", "temperature")  # greedy without a primer writes one melody: no test
REVEALED = "listening_revealed"  # session_state: the round just answered, shown with its answer
AGAIN = "listening_again"  # session_state: the answered round whose excerpts are played again
PROBLEM = "listening_problem"  # session_state: a records problem met while storing an answer
ROUND_KEY = "listening_round"  # the round's container (layout.css: .st-key-listening_round)
RESULTS_EVERY_S = 10  # the class's table and chart, while shown, are read again this often


_ = translator(__name__)


# ----------------------------------------------------------------------------------------------------
# Pools and audio, made once per server


def _engraved(pool: list[Excerpt]) -> list[Excerpt]:
    """The pool, each excerpt's sheet music drawn into the server's cache now (about 40 ms each, once per
    server), so that showing a round's answer costs no engraving while the class waits."""
    for excerpt in pool:
        column_view(excerpt.events, 0)
    return pool


@st.cache_resource(max_entries=32, show_spinner=False)
def _model_pool(path: str, stamp: float, method: str, bars: int) -> list[Excerpt]:
    return _engraved(model_pool(checkpoint(path, stamp), method, bars))


@st.cache_resource(max_entries=16, show_spinner=False)
def _bach_pool(path: str, stamp: float, bars: int) -> list[Excerpt]:
    return _engraved(bach_excerpts(checkpoint(path, stamp).meta, bars))


def _audio(excerpt: Excerpt, bars: int) -> bytes | None:
    """An excerpt's audio, from the server's bounded cache (keyed by content: Streamlit's own cache
    would hash the events field by field on every call, 3 ms an excerpt), else from disk or made."""
    return render_cache().get(("excerpt-ogg", excerpt.events, bars), lambda: excerpt_audio(excerpt, bars))


def pools(info, method: str, bars: int) -> tuple[list[Excerpt], list[Excerpt]]:
    """(the model's pool for `method`, the model's held-out Bach openings), `bars` bars each."""
    stamp = mtime(info.path)
    with st.spinner(_("Preparing the excerpts (once per model, method and length) ...")):
        return _model_pool(str(info.path), stamp, method, bars), _bach_pool(str(info.path), stamp, bars)


def round_excerpts(round_: ListeningRound, info) -> tuple[Excerpt, Excerpt] | None:
    """(A, B) of a dealt round, found again in its pools; None when a pool no longer holds them (the
    model was trained again, say)."""
    generated_pool, bach_pool = pools(info, round_.method, round_.bars)
    generated = next((x for x in generated_pool if x.id == round_.generated), None)
    bach = next((x for x in bach_pool if x.id == round_.bach), None)
    if generated is None or bach is None:
        return None
    return (bach, generated) if round_.bach_first else (generated, bach)


# ----------------------------------------------------------------------------------------------------
# Dealing and answering


def class_choice(available: list[str]) -> ListeningSettings:
    """The teacher's choice for the class, the models this server lacks left out; a default before any."""
    try:
        chosen = class_records().listening_settings()
    except RecordsError as exc:
        st.warning(records_problem_text(exc))
        chosen = None
    if chosen is None:
        default = [m for m in ("bach", "workshop") if m in available][:1] or available[:1]
        return ListeningSettings(tuple(default), CLASS_METHODS, DEFAULT_BARS, 0.0)
    models = tuple(m for m in chosen.models if m in available) or tuple(available[:1])
    return ListeningSettings(models, chosen.methods, chosen.bars, chosen.updated)


def deal(student: str, choice: ListeningSettings, infos: dict) -> ListeningRound | None:
    """The student's open round (a reload finds it), else a new one from `choice`; None (said why)
    when the records cannot be used or a pool is empty."""
    records = class_records()
    try:
        open_round = records.open_round(student)
        if open_round is not None and open_round.model in infos:
            return open_round
        if open_round is not None:  # its model is gone from this server: that round cannot be played
            records.abandon_round(open_round.id)
        key = uuid.uuid4().hex
        rng = random.Random(key)
        model, method = rng.choice(choice.models), rng.choice(choice.methods)
        generated_pool, bach_pool = pools(infos[model], method, choice.bars)
        pairing = pair(generated_pool, bach_pool, key)
        new = ListeningRound(
            key, student, model, method, choice.bars, pairing.bach.id, pairing.generated.id,
            pairing.bach_first, time.time(),
        )  # fmt: skip
        return records.deal_round(new)  # another tab's open round wins
    except RecordsError as exc:
        st.error(records_problem_text(exc))
    except ValueError:  # an empty pool: the model writes nothing of that length
        st.error(
            _(
                "The model **{model}** wrote no usable {bars}-bar excerpt with {method}: choose another."
            ).format(model=model, bars=choice.bars, method=method_words(method))
        )
    return None


def playable_round(student: str, choice: ListeningSettings, infos: dict) -> tuple | None:
    """(the round to play, its excerpts A and B): the open round, or a new one where the open round's
    excerpts are gone (its model was trained again since); None after a sentence saying why not."""
    for _attempt in range(2):
        round_ = deal(student, choice, infos)
        if round_ is None:
            return None
        excerpts = round_excerpts(round_, infos[round_.model])
        if excerpts is not None:
            return round_, excerpts
        try:
            class_records().abandon_round(round_.id)
        except RecordsError as exc:
            st.error(records_problem_text(exc))
            return None
    return None


def _answer(round_id: str, picked: str) -> None:
    """Store the answer (a second click, or one after a reload, stores nothing more) and show it."""
    try:
        _, kept = class_records().answer_round(round_id, picked)
    except RecordsError as exc:
        st.session_state[PROBLEM] = records_problem_text(exc)
        return
    st.session_state[REVEALED] = kept.id if kept is not None else None


# ----------------------------------------------------------------------------------------------------
# Drawing


def draw_question(round_: ListeningRound, excerpts: tuple[Excerpt, Excerpt]) -> None:
    """Two players labelled A and B, then "A is Bach" / "B is Bach": nothing else about the excerpts."""
    st.markdown(
        _("Listen to both excerpts. One is the opening of a Bach chorale melody, one was written by a model.")
    )
    for slot, letter, excerpt in zip(st.columns(2), "AB", excerpts):
        with slot:
            st.markdown(_("#### Excerpt {letter}").format(letter=letter))
            st.audio(_audio(excerpt, round_.bars), format="audio/ogg")
    c = st.columns(2)
    for slot, letter in zip(c, "AB"):
        slot.button(
            _("{letter} is Bach").format(letter=letter), key=f"pick_{letter}", type="primary",
            on_click=_answer, args=(round_.id, letter), width="stretch",
        )  # fmt: skip


def draw_answer(round_: ListeningRound, excerpts: tuple[Excerpt, Excerpt]) -> None:
    """The answer: which was Bach, the listener's verdict, both scores, and the model's method."""
    right = not round_.took_model_for_bach
    verdict = _("Right: **{bach}** was Bach.") if right else _("Not this time: **{bach}** was Bach.")
    (st.success if right else st.info)(verdict.format(bach=round_.bach_letter))
    for slot, letter, excerpt in zip(st.columns(2), "AB", excerpts):
        is_bach = letter == round_.bach_letter
        with slot:
            if is_bach:
                piece = excerpt.id.split(":")[0]
                st.markdown(f"#### {letter}: Bach ({piece})")
            else:
                st.markdown(f"#### {letter}: {round_.model}, {method_words(round_.method)}")
            view = column_view(excerpt.events, 0)
            if view["svg"]:
                st.image(view["svg"], width="stretch")
            if st.session_state.get(AGAIN) == round_.id:
                st.audio(_audio(excerpt, round_.bars), format="audio/ogg")
    if st.session_state.get(AGAIN) != round_.id:  # the audio again only when asked: 60 KB a round
        st.button(
            _("Listen again, knowing which is which"), key="listen_again", icon=":material/replay:",
            on_click=st.session_state.__setitem__, args=(AGAIN, round_.id),
        )  # fmt: skip
    st.caption(
        _(
            "The model's excerpt: the opening {bars} bars of a melody **{model}** wrote with **{method}** "
            "(default settings, no primer). Bach's: the opening {bars} bars of a chorale melody the model "
            "never trained on."
        ).format(bars=round_.bars, model=round_.model, method=method_words(round_.method))
    )


def draw_results() -> None:
    """The class's results per model and method: table, projector chart and how to read them."""
    try:
        rounds = class_records().answered_rounds()
    except RecordsError as exc:
        st.warning(records_problem_text(exc))
        return
    results = listening_results(rounds)
    if not results:
        st.caption(_("No answers yet."))
        return
    frame = charts.listening_frame(results)  # the records' method names, worded for the table and chart
    frame = frame.assign(method=[method_words(m) for m in frame["method"]])
    show_table(
        st,
        frame,
        hide_index=True,
        placeholder=MISSING,
        column_config={
            "model": st.column_config.TextColumn(_("model")),
            "method": st.column_config.TextColumn(_("method")),
            "answers": st.column_config.NumberColumn(_("answers")),
            "taken for Bach": st.column_config.NumberColumn(_("taken for Bach"), format="percent"),
            "low": st.column_config.NumberColumn(_("95% from"), format="percent"),
            "high": st.column_config.NumberColumn(_("95% to"), format="percent"),
        },
    )
    axis = _("taken for Bach (95% interval)")
    st.vega_lite_chart(frame, charts.localized(charts.listening_chart(frame, axis)))
    st.caption(
        _(
            "Share of rounds in which listeners took the model's excerpt for Bach, with its 95% interval "
            "(Wilson). 50% means the class could not tell the model from Bach; near 0% the model gives "
            "itself away."
        )
    )


# The class's table and chart refresh on their own (the projector follows the class's answers); a
# student's answer does not redraw them (a table and a Vega chart cost the browser more than a round).
live_results = st.fragment(run_every=RESULTS_EVERY_S)(draw_results)


def draw_score(answered: list[ListeningRound]) -> None:
    """The student's own score from their answered rounds (nothing before a first answer)."""
    for score in student_scores(answered):
        st.markdown(
            _("**Your score**: Bach found in {correct} of {answers} rounds.").format(
                correct=score.correct, answers=score.answers
            )
        )


@st.fragment
def draw_round(student: str, infos: dict, own: ListeningSettings | None) -> None:
    """The round: the question, or the answer just given and Next round; then the student's score.
    A fragment: an answer or Next round reruns this only. `own`: the student's choice when playing
    alone, else the class's (read again each time: the teacher may change it between rounds). Its
    container's key gives layout.css the round's stale parts (dimmed in one step, not faded)."""
    with st.container(key=ROUND_KEY):
        _draw_round(student, infos, own)


def _draw_round(student: str, infos: dict, own: ListeningSettings | None) -> None:
    """The round's parts (see draw_round)."""
    choice = own or class_choice(list(infos))
    if own is None:
        st.caption(
            _(
                "The class's test: models {models}; methods {methods}; {bars} bars. Your teacher chooses "
                "these."
            ).format(
                models=", ".join(choice.models),
                methods=", ".join(map(method_words, choice.methods)),
                bars=choice.bars,
            )
        )
    if problem := st.session_state.pop(PROBLEM, None):
        st.error(problem)
    revealed = st.session_state.get(REVEALED)
    try:
        answered = class_records().answered_rounds(student) if student else []
    except RecordsError as exc:
        st.warning(records_problem_text(exc))
        answered = []
    shown = next((r for r in answered if r.id == revealed), None) if revealed else None
    if shown is not None and shown.model in infos:
        excerpts = round_excerpts(shown, infos[shown.model])
        if excerpts is not None:
            draw_answer(shown, excerpts)
        st.button(
            _("Next round"), key="next_round", type="primary", on_click=st.session_state.pop, args=(REVEALED,)
        )
    else:
        st.session_state.pop(REVEALED, None)
        if (playable := playable_round(student, choice, infos)) is not None:
            draw_question(*playable)
    draw_score(answered)


def draw_teacher(available: list[str], choice: ListeningSettings) -> None:
    """The teacher's choices for the class (models, methods, excerpt length) and the results' reset."""
    with st.form("listening_teacher"):
        c = st.columns(3)
        models = c[0].multiselect(_("Models"), available, default=list(choice.models), key="listen_models")
        methods = c[1].multiselect(
            _("Methods"),
            list(METHODS),
            default=list(choice.methods),
            format_func={m: method_words(m) for m in METHODS}.__getitem__,
            key="listen_methods",
        )
        bars = c[2].selectbox(
            _("Excerpt length (bars)"), BARS, index=BARS.index(choice.bars), key="listen_bars"
        )
        saved = st.form_submit_button(_("Save for the class"))
    if saved:
        if not models or not methods:
            st.error(_("Choose at least one model and one method."))
        else:
            try:
                class_records().set_listening_settings(models, methods, bars)
                st.success(_("Saved: the class's next rounds use these."))
            except RecordsError as exc:
                st.error(records_problem_text(exc))
    if st.button(_("Reset the class's results"), key="listen_reset"):
        try:
            cleared = class_records().reset_listening()
            st.success(_("{n} rounds cleared from the results (kept in the records file).").format(n=cleared))
        except RecordsError as exc:
            st.error(records_problem_text(exc))
