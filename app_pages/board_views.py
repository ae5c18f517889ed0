"""Drawing parts of the class board: one shared melody as a card (sheet music, Listen, downloads, its
link, Remove for its owner or the teacher), the projector's one large melody, and sharing from Sampling."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from app_pages import charts
from app_pages.common import class_records, column_audio, column_view, records_problem_text
from app_pages.i18n import translator, with_language
from app_pages.messages import PRIMER_NONE, method_label
from app_pages.sampling_state import SamplingResult
from bachlstm.classroom.records import BoardItem, RecordsError
from bachlstm.music.events import Event
from bachlstm.music.scores import to_midi, to_musicxml
from bachlstm.music.tonality import estimate_key

MAX_TITLE = 80  # characters of a shared melody's title
HEARD = "board_heard"  # session_state: the board items listened to (their players are drawn)


_ = translator(__name__)


def melody_record(events, n_primer: int, key_sharps: int | None) -> dict:
    """A melody as the board keeps it (JSON-ready)."""
    return {"events": [e.to_dict() for e in events], "n_primer": n_primer, "key_sharps": key_sharps}


def item_events(item: BoardItem) -> tuple[Event, ...]:
    """A board item's melody as events."""
    return tuple(Event.from_dict(e) for e in item.melody.get("events", []))


def item_link(item: BoardItem) -> str | None:
    """The Sampling link that makes the item's melodies again, or None (a primer file)."""
    if not item.settings:
        return None
    base = (st.context.url or "").rsplit("/", 1)[0]
    return f"{base}/sampling?{urlencode(with_language(item.settings))}"


def knobs_words(item: BoardItem) -> str:
    """How the melody was made, in a line: the method's label, seed, length, primer, in the Sampling
    page's words (a link's `length` counts notes: reports.links.DEFAULT_LENGTH). A stored item holds the
    library's English label ('top-p (p=0.9)'): worded here, when shown."""
    s = item.settings
    label = method_label(item.label)
    if not s:
        return label
    primer = s.get("primer") or _(PRIMER_NONE)
    return _("{label}; seed {seed}, {length} notes, primer {primer}").format(
        label=label, seed=s.get("seed"), length=s.get("length"), primer=primer
    )


def share(owner: str, title: str, model: str, columns: list[tuple[str, str, dict]], settings: dict) -> int:
    """Put melodies on the board, one item per (method, label, melody); how many were shared, 0 after
    a sentence when the records cannot be written."""
    try:
        for method, label, melody in columns:
            class_records().add_board_item(owner, title, model, method, label, settings, melody)
    except RecordsError as exc:
        st.error(records_problem_text(exc))
        return 0
    return len(columns)


def _hear(item_id: int) -> None:
    st.session_state.setdefault(HEARD, set()).add(item_id)


def listen(item: BoardItem, events: tuple, key: str) -> None:
    """A Listen button, then the player (audio made when first asked for, once per server)."""
    if item.id not in st.session_state.get(HEARD, set()):
        st.button(_("Listen"), key=key, icon=":material/play_arrow:", on_click=_hear, args=(item.id,))
        return
    data = column_audio(events)
    if data is None:
        st.caption(_("Nothing to play: this melody has no notes."))
    else:
        st.audio(data, format="audio/ogg")


def downloads(item: BoardItem, events: tuple) -> None:
    """MIDI and MusicXML of the item, built when clicked."""
    sharps = item.melody.get("key_sharps")
    stem = f"{item.owner}-{item.model}-{item.method}-{item.id}".replace(" ", "-")
    formats = (
        ("MIDI", to_midi, "mid", "audio/midi"),
        ("MusicXML", to_musicxml, "musicxml", "application/xml"),
    )
    for slot, (label, export, ext, mime) in zip(st.columns(2), formats):
        slot.download_button(
            label, lambda export=export: export(list(events), key_sharps=sharps), f"{stem}.{ext}", mime,
            key=f"board_{ext}_{item.id}", on_click="ignore", disabled=not events,
        )  # fmt: skip


def remove(item: BoardItem, student: str | None, teacher: bool) -> None:
    """Take an item off the board (its owner or the teacher); a sentence if it was gone already."""
    try:
        removed = class_records().remove_board_item(item.id, student or "", teacher=teacher)
    except RecordsError as exc:
        st.session_state["board_problem"] = records_problem_text(exc)
        return
    if not removed:
        st.session_state["board_problem"] = _("That melody was no longer on the board.")


def card(item: BoardItem, student: str | None, teacher: bool) -> None:
    """One shared melody: title, owner and how it was made, sheet music, Listen, downloads, link, Remove."""
    events = item_events(item)
    with st.container(border=True, key=f"board_item_{item.id}"):
        st.markdown(f"**{item.title}**")
        st.caption(
            _("by **{owner}** · model {model} · {how}").format(
                owner=item.owner, model=item.model, how=knobs_words(item)
            )
        )
        view = column_view(events, item.melody.get("n_primer", 0), item.melody.get("key_sharps"))
        if view["svg"]:
            st.image(view["svg"], width="stretch")
        listen(item, events, key=f"board_listen_{item.id}")
        downloads(item, events)
        link = item_link(item)
        if link:
            st.code(link, language=None, wrap_lines=True)
        mine = student is not None and student.casefold() == item.owner.casefold()
        if mine or teacher:
            st.button(
                _("Remove"), key=f"board_remove_{item.id}", on_click=remove, args=(item, student, teacher)
            )


def projector(items: list[BoardItem]) -> None:
    """One melody large (sheet music readable from the back of a room), its piano roll and Listen, with
    previous and next."""
    index = min(st.session_state.get("board_shown", 0), len(items) - 1)
    item = items[index]
    c = st.columns([1, 6, 1])
    c[0].button(_("Previous"), key="board_prev", disabled=index == 0, on_click=_move, args=(index - 1,))
    c[2].button(
        _("Next"), key="board_next", disabled=index >= len(items) - 1, on_click=_move, args=(index + 1,)
    )
    c[1].markdown(
        _("### {title}\n{owner} · {model} · {label} ({n} of {total})").format(
            title=item.title,
            owner=item.owner,
            model=item.model,
            label=method_label(item.label),
            n=index + 1,
            total=len(items),
        )
    )
    events = item_events(item)
    # Larger than a board card's (charts.PROJECTOR_PAGE_WIDTH): the focus view's page drew it smaller.
    view = column_view(
        events,
        item.melody.get("n_primer", 0),
        item.melody.get("key_sharps"),
        page_width=charts.PROJECTOR_PAGE_WIDTH,
    )
    if view["svg"]:
        st.image(view["svg"], width="stretch")
    if len(view["roll"]):
        st.vega_lite_chart(
            view["roll"], charts.localized(charts.piano_roll_chart(view["roll"])), width="stretch"
        )
    listen(item, events, key="board_projector_listen")


def _move(index: int) -> None:
    st.session_state["board_shown"] = max(0, index)


SHARED = "board_shared"  # session_state: (result, choice) pairs shared already (a second click adds nothing)


def draw_share(res: SamplingResult, student: str | None) -> None:
    """Under a Sampling result: share one column, or all four, with the class under a short title."""
    gens = res.gens
    labels = [g.config.label for g in gens]
    every = _("all four")
    with st.expander(_("Share with the class"), icon=":material/share:"):
        with st.form("share_form", clear_on_submit=False):
            c = st.columns([3, 2, 1])
            title = c[0].text_input(_("Title"), max_chars=MAX_TITLE, key="share_title")
            shown = {label: label if label == every else method_label(label) for label in [every, *labels]}
            which = c[1].selectbox(
                _("Melody"), [every, *labels], format_func=shown.__getitem__, key="share_which"
            )
            go = c[2].form_submit_button(_("Share"), type="primary")
        if not go:
            return
        if student is None:
            st.error(_("Give your name first (reload the page): the board shows who shared what."))
            return
        title = " ".join(title.split())
        if not title:
            st.error(_("Give the melody a short title first, so the class can tell it apart."))
            return
        done = st.session_state.setdefault(SHARED, set())
        mark = (res.settings, which, title)  # equal settings made equal melodies
        if mark in done:
            st.info(_("Shared already: see the Class board."))
            return
        chosen = [g for g in gens if which in (every, g.config.label)]
        columns = []
        for g in chosen:
            key = estimate_key(g.events)
            melody = melody_record(g.full_events, res.n_primer, key.sharps if key else None)
            columns.append((g.config.method, g.config.label, melody))
        if share(student, title, res.model, columns, res.link or {}):
            done.add(mark)
            st.success(_("Shared: see the Class board."))
