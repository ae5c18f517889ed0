"""Drawing parts of the Sampling page (streamlit), kept apart so the page itself stays a short script."""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import streamlit as st

from app_pages import charts
from app_pages.common import (
    SESSION,
    column_audio,
    column_view,
    method_figures,
    mtime,
    next_token_view,
)
from app_pages.forms import problems_text
from app_pages.i18n import N_, current_language, number, translator, with_language
from app_pages.messages import (
    LENGTH_LABEL,
    MIN_LENGTH_LABEL,
    NEXT_TOKEN_EXPLORER,
    PRIMER_NONE,
    describe,
    method_label,
    method_words,
    problem_sentence,
)
from app_pages.sampling_state import (
    SLIDERS,
    SamplingResult,
    SamplingSettings,
    file_id,
    outside_sliders,
    stale_note,
)
from app_pages.tables import show_table, significant
from app_pages.terms import with_glossary
from app_pages.texts import (
    COLUMN_METRICS,
    KNOB_HELP,
    KNOB_LABELS,
    METRIC_WORDS,
    MISSING,
    NOT_APPLICABLE,
    STYLE_HELP,
    format_metric,
    line_label,
    notice_text,
    warning_words,
)
from bachlstm.analysis.style import COLUMNS as STYLE_COLUMNS
from bachlstm.analysis.style import REMOTE_SHARPS
from bachlstm.generation.generator import check_arguments, token_limit
from bachlstm.generation.primer import MusicInputError, PrimerError, PrimerLine, read_primer, upload_primer
from bachlstm.music.names import key_label
from bachlstm.music.scores import (
    download_composer,
    download_stem,
    download_title,
    to_midi,
    to_musicxml,
    zip_melodies,
)
from bachlstm.music.tonality import estimate_key
from bachlstm.reports.comparison import compare_methods, sampling_configs
from bachlstm.reports.links import (
    CADENCE_CAP,
    GRAMMAR,
    LINK_FIELDS,
    MISSING_MODEL,
    NOT_A_NUMBER,
    NOT_ON_OFF,
    OUT_OF_RANGE,
    UNKNOWN_MODEL,
    UNKNOWN_PRIMER,
    LinkError,
    LinkProblem,
    SamplingRequest,
    from_query,
    is_link,
    length_arguments,
)
from bachlstm.reports.stored_figures import METHOD_SAMPLES
from bachlstm.settings.problems import WHOLE_NUMBER, Problem, SettingsError, problems_of

PAGE_BOOTSTRAP = 200  # resamples for the page's intervals: about a second, not the CLI's 1000
MAX_TABLE_SAMPLES = 64  # per method: beyond this the page waits too long on a 2-core machine

_ = translator(__name__)


def knob(slot, field: str, start, key=None, tip=None):
    """A knob's slider (`compare.Knobs` field; its range from `SLIDERS`), labelled and explained in one
    place, kept across pages."""
    low, high, step = SLIDERS[field]
    return slot.slider(
        _(KNOB_LABELS[field]), low, high, start, step, key=key or field, persist_state=SESSION,
        help=with_glossary(_(KNOB_HELP[tip or field]), KNOB_TERMS.get(field)),
        format=slider_format(step),
    )  # fmt: skip


def slider_format(step) -> str | None:
    """A knob slider's number format: on German pages a decimal one "localized" (Streamlit formats it with
    the browser's Intl locale, 0,9; its printf formats know no decimal comma); else Streamlit's own
    (0.90)."""
    return "localized" if current_language() == "de" and isinstance(step, float) else None


# The glossary entry each knob, table column and figure links to from its help (terms.TERMS keys).
KNOB_TERMS = {"k": "top-k", "p": "nucleus-sampling", "k_temperature": "temperature",
              "p_temperature": "temperature", "temperature": "temperature"}  # fmt: skip
COLUMN_TERMS = {"validity": "valid-groups", "self_perplexity": "self-perplexity", "kl_pc": "kl-divergence",
                "kl_transitions": "kl-divergence", "pitch classes vs Bach": "kl-divergence",
                "transitions vs Bach": "kl-divergence", "remote keys": "remote",
                "tonic by step": "tonic-step", "ends on tonic": "cadence"}  # fmt: skip


# ----------------------------------------------------------------------------------------------------
# Links that reproduce a result (reports.links)

LINK_DONE = "link_done"  # session_state: the query of the link this session has already opened
LINK_WORDS = {
    MISSING_MODEL: N_("names no model"),
    UNKNOWN_MODEL: N_("names the model **{value}**, which this server does not have (any more)"),
    UNKNOWN_PRIMER: N_("names the chorale **{value}**, which is not among this model's held-out chorales"),
    NOT_A_NUMBER: N_("has **{value}** for {label}, which is not a number"),
    NOT_ON_OFF: N_("has **{value}** for {label}, which should be 1 (on) or 0 (off)"),
    OUT_OF_RANGE: N_("has {label} **{value}**, which {detail}"),
}


def link_problem_text(problems) -> str:
    """A link's problems (`links.LinkProblem`s) in one sentence, each setting by its label."""
    labels = {**SAMPLING_LABELS, "model": N_("Model"), "primer": N_("Primer"), GRAMMAR: N_("grammar mask")}
    parts = [
        _(LINK_WORDS[p.code]).format(
            value=p.value,
            label=_(labels.get(p.field, p.field)),
            detail=problem_sentence(p.rule) if p.rule is not None else p.detail,
        )
        for p in problems
    ]
    return _("This link cannot be opened: it {problems}. The page is ready for your own settings.").format(
        problems=_("; it ").join(parts)
    )


def read_link(models: list[str]) -> SamplingRequest | None:
    """The Sampling request in this page's address (a link someone shared), checked against this
    server's models and the page's sliders, once per session; None when there is none to open (a
    refusal says why in a sentence, and the page goes on with its own settings)."""
    params = st.query_params.to_dict()
    if not is_link(params):
        return None
    query = _link_query()
    if st.session_state.get(LINK_DONE) == query:
        return None  # opened already: the controls hold its settings, the student may have moved on
    try:
        request = from_query(params, models)
        outside = outside_sliders(request)
        if outside:
            beyond = _("is outside this page's {low} to {high}")
            raise LinkError([
                LinkProblem(name, OUT_OF_RANGE, f"{value:g}", beyond.format(low=f"{low:g}", high=f"{high:g}"))
                for name, value, low, high in outside
            ])  # fmt: skip
    except LinkError as exc:
        st.error(link_problem_text(exc.problems))
        st.session_state[LINK_DONE] = query
        return None
    return request


def held_out_primer(request: SamplingRequest | None, keys: list[str]) -> SamplingRequest | None:
    """The request if its primer is none or among the model's held-out chorale `keys`; else a sentence
    and None (the link is not opened)."""
    if request is None or not request.primer or request.primer in keys:
        return request
    st.error(link_problem_text([LinkProblem("primer", UNKNOWN_PRIMER, request.primer)]))
    st.session_state[LINK_DONE] = _link_query()
    return None


def _link_query() -> str:
    params = st.query_params.to_dict()
    return urlencode(sorted((k, v) for k, v in params.items() if k in LINK_FIELDS))


def link_opened() -> None:
    """Remember that this session has opened the link in its address (a rerun does not reopen it)."""
    st.session_state[LINK_DONE] = _link_query()


def draw_link(res: SamplingResult) -> None:
    """The result's link (a copy button on its box), or why a result has none."""
    query = res.link
    if query is None:
        st.caption(_("No link for these melodies: a primer file cannot travel in a link."))
        return
    base = st.context.url or "/sampling"
    st.caption(
        _(
            "**Link to these melodies**: whoever opens it on this server gets the same melodies again "
            "(copy it with the button at its right end)."
        )
    )
    st.code(f"{base}?{urlencode(with_language(query))}", language=None, wrap_lines=True)


@dataclass(frozen=True)
class PrimerUpload:
    """An uploaded primer file, kept in session_state: st.file_uploader forgets it on a page switch."""

    name: str
    data: bytes

    @property
    def id(self) -> str:
        """Name and hash: what makes two uploads the same primer."""
        return file_id(self.name, self.data)


KEPT_FILE = "primer_file"  # session_state key of the last primer file that was read successfully


def kept_primer_file(slot, upload) -> PrimerUpload | None:
    """The primer file: the uploader's, else the one kept from an earlier Generate (said in a caption)."""
    if upload is not None:
        return PrimerUpload(upload.name, upload.getvalue())
    kept = st.session_state.get(KEPT_FILE)
    if kept is not None:
        slot.caption(
            _("Primer file: {name} (uploaded earlier). Choose another file to replace it.").format(
                name=kept.name
            )
        )
    return kept


@st.cache_data(max_entries=16, show_spinner=False)
def upload_lines(data: bytes, name: str) -> tuple[tuple[PrimerLine, ...], int]:
    """The tracks or parts of an uploaded file and the one taken by default; ((), 0) for a file that
    cannot be read (Generate says why)."""
    try:
        read = read_primer(data, name)  # primer.MAX_PRIMER_BYTES at most
    except MusicInputError:
        return (), 0
    return read.lines, read.line


def line_choice(slot, file: PrimerUpload) -> int | None:
    """The track or part the student takes the melody from: a box when the file has several (the
    library's default chosen first); None for a file of one line or the default (so the note says why
    the library took it)."""
    lines, default = upload_lines(file.data, file.name)
    if len(lines) < 2:
        return None
    numbers = [x.number for x in lines]
    labels = {x.number: line_label(x) for x in lines}
    picked = slot.selectbox(
        _("Melody line"),
        numbers,
        index=numbers.index(default),
        format_func=labels.__getitem__,
        key=f"primer_line_{file.id}",
        help=_(
            "The file has several tracks or parts; the melody is taken from one. First comes one named "
            "like a melody (soprano, voice, ...), else the highest."
        ),
    )
    return None if picked == default else picked


def read_upload(file: PrimerUpload, tokenizer, line: int | None = None) -> tuple[list, str] | None:
    """(primer events moved into the model's vocabulary, a note on what was read, changed or lost), or
    None after a clear error for a bad file. A file that reads is kept for the next visit to the page."""
    try:
        primer = upload_primer(file.data, file.name, tokenizer, line=line)
    except (MusicInputError, PrimerError) as exc:
        why = f"{file.name}: {notice_text(exc.notice)}"
        st.error(_("The primer cannot be used: {why}").format(why=why))
        return None
    st.session_state[KEPT_FILE] = file
    return primer.events, " ".join(f"{file.name}: {notice_text(w)}." for w in primer.warnings)


# The Sampling form's fields as the page labels them (forms.problems_text words errors with them).
SAMPLING_LABELS = {
    **KNOB_LABELS,
    "seed": N_("Seed"),
    "length": LENGTH_LABEL,
    "max_notes": LENGTH_LABEL,
    "min_length": MIN_LENGTH_LABEL,
    "samples": N_("Samples per method"),
}


def settings_problems(seed_problem: Exception | None, settings: SamplingSettings) -> list[Problem]:
    """Every bad setting of the Sampling form at once (the seed as typed, the knobs, the lengths)."""
    problems = list(problems_of(seed_problem)) if seed_problem is not None else []
    if seed_problem is not None and not problems:  # parse_whole_number's FormError: a page's own words
        problems.append(Problem("seed", str(seed_problem)))
    try:
        sampling_configs(settings.knobs)
    except SettingsError as exc:
        problems.extend(exc.problems or [Problem("knobs", str(exc))])
    if not 1 <= settings.samples <= MAX_TABLE_SAMPLES:
        problems.append(
            Problem(
                "samples",
                f"must be a whole number from 1 to {MAX_TABLE_SAMPLES}, got {settings.samples}",
                WHOLE_NUMBER,
                (("lo", 1), ("hi", MAX_TABLE_SAMPLES), ("got", settings.samples)),
            )
        )
    try:
        notes = settings.length * (CADENCE_CAP if settings.cadence else 1)
        check_arguments(length=token_limit(notes), min_length=settings.min_length, max_notes=notes)
    except SettingsError as exc:
        problems.extend(exc.problems)
    return problems


def generate_once(ck, ref, settings: SamplingSettings, primer, note="", link: dict | None = None) -> None:
    """Generate the four columns into session_state with their settings, unless these exact settings
    made the result already there. `link`: the result's query parameters (`links.to_query`), None
    where a link cannot carry its settings."""
    try:
        configs = sampling_configs(settings.knobs)
    except ValueError as exc:
        st.error(
            _("These sampling settings cannot be used: {why}").format(why=problems_text(exc, SAMPLING_LABELS))
        )
        st.stop()
    old = st.session_state.get("sampling")
    if old is not None and old.settings == settings:
        return  # same settings, same seed: the same music is already there
    samples = settings.samples
    try:
        with st.spinner(_("Generating ...")):
            comparison = compare_methods(
                ck, configs, primer=primer, min_length=settings.min_length, **length_settings(settings),
                seed=settings.seed, constrained=settings.constrained, reference=ref, samples=samples,
                n_boot=PAGE_BOOTSTRAP,
            )  # fmt: skip
            shown = list(range(0, len(comparison.generations), samples))  # each method's first sample
            gens = [comparison.generations[i] for i in shown]
            n_primer = len(gens[0].primer_events)
    except (ValueError, RuntimeError) as exc:  # e.g. a primer with notes this model has never seen
        st.error(_("Generation failed: {why}").format(why=describe(exc)))
        st.stop()
    # the model travels with its result: the explorer must use the tokens' own vocabulary
    profiles = [comparison.profiles[i] for i in shown] if comparison.profiles else [{} for _ in shown]
    st.session_state.sampling = SamplingResult(
        comparison=comparison, gens=gens, settings=settings, checkpoint=ck, n_primer=n_primer, shown=shown,
        profiles=profiles, note=note, link=link,
    )  # fmt: skip
    st.session_state.heard = set()  # the columns listened to: none of the new ones yet


def draw_stale(res: SamplingResult, shown: SamplingSettings) -> None:
    """Above the result: which settings made it, where the controls now say something else."""
    note = stale_note(res.settings, shown)
    if note:
        st.warning(note, icon=":material/history:")


def primer_key(gens):
    """The primer's key (`tonality.estimate_key` of its notes), None without a primer note."""
    return estimate_key(gens[0].primer_events) if gens and getattr(gens[0], "primer_events", ()) else None


def column_key_signatures(gens) -> list[int | None]:
    """Each column's key signature. With a primer, the primer's key in every column: the same primer is
    written alike everywhere. Without one, the key its figures name (`tonality.estimate_key` of the
    continuation), so the staff, the downloads and the name agree; None (estimated from all the events)
    where the continuation has no note."""
    key = primer_key(gens)
    if key is not None:
        return [key.sharps] * len(gens)
    return [None if (key := estimate_key(g.events)) is None else key.sharps for g in gens]


def length_settings(settings: SamplingSettings) -> dict:
    """compare_methods' length arguments for the page's Length (notes) and its cadence switch."""
    return length_arguments(settings.length, settings.cadence)


def cut_words(gen, cadence: bool = False) -> str:
    """Under a column's title, when the length limit ended its melody and not the model; with the
    cadence switch on (`cadence`), the rule that set the limit: no cadence after Length, cut at 3x."""
    if gen.note_limit and cadence and gen.max_notes:
        return _(
            "Cut at the length limit ({n} notes): no cadence came after {length} notes, so the melody "
            "was cut at {cap} times the length."
        ).format(n=gen.max_notes, length=gen.max_notes // CADENCE_CAP, cap=CADENCE_CAP)
    if gen.note_limit:
        return _("Cut at the length limit ({n} notes): the model had not ended this melody.").format(
            n=gen.max_notes
        )
    return _("Cut at the length limit: the model had not ended this melody.")


FOCUS_ALL = N_("all four")  # the focus control's first option: the four methods side by side


def draw_columns(res: SamplingResult) -> None:
    """greedy | top-k | top-p | temperature: sheet music, piano roll, audio, metrics, downloads; or one
    method large (the focus control). Below about 1000 px the columns wrap two by two (the app's CSS)."""
    if res.note:
        st.info(res.note)
    gens = res.gens
    methods = [g.config.method for g in gens]
    focus = st.segmented_control(
        _("Show"),
        [FOCUS_ALL, *methods],
        format_func={
            m: _(m) if m == FOCUS_ALL else method_words(m) for m in [FOCUS_ALL, *methods]
        }.__getitem__,
        default=FOCUS_ALL,
        key="sampling_focus",
        persist_state=SESSION,
        help=_("One method large, e.g. on a projector, or all four side by side."),
    )
    shown = [i for i, m in enumerate(methods) if focus in (None, FOCUS_ALL, m)] or list(range(len(gens)))
    key = primer_key(gens)
    if key is not None:
        named = key_label(key, current_language())  # Es-Dur / E♭ major
        st.caption(
            _(
                "Every staff is written in the primer's key, **{key}** (grey notes: the primer). The key "
                "under each melody is the one its continuation settles in."
            ).format(key=named)
        )
    metrics = [res.comparison.metrics[i] for i in res.shown]
    melodies = tuple(tuple(gen.full_events) for gen in gens)
    signatures = column_key_signatures(gens)
    large = len(shown) == 1
    views = {i: column_view(melodies[i], res.n_primer, signatures[i], large=large) for i in shown}
    x_domain, y_domain = charts.roll_domains([views[i]["roll"] for i in shown])
    with st.container(key="sampling_methods"):
        for col, i in zip(st.columns(len(shown)), shown):
            # The session keeps only the events: drawings and audio live in the server's bounded cache.
            view = views[i]
            with col:
                st.markdown(f"##### {method_label(gens[i].config.label)}")
                if gens[i].cut:
                    st.caption(cut_words(gens[i], res.settings.cadence))
                if view["svg"]:
                    st.image(view["svg"], width="stretch")
                if len(view["roll"]):
                    spec = charts.piano_roll_chart(view["roll"], x_domain=x_domain, y_domain=y_domain)
                    st.vega_lite_chart(view["roll"], charts.localized(spec), width="stretch")
    # One fragment for the players: a Listen click redraws only that row, and the page pays for one
    # fragment per run instead of four (Streamlit deep-copies the page's containers for each).
    listen_row(tuple(melodies[i] for i in shown), tuple(methods[i] for i in shown), tuple(shown))
    with st.container(key="sampling_figures"):
        for col, i in zip(st.columns(len(shown)), shown):
            with col:
                draw_figures(res, i, metrics[i], res.profiles[i], melodies[i], signatures[i])


TITLE_WORDS = N_("{model}: {method}, primer {primer}")  # scores.TITLE, in the reader's language


def title_words(model: str, method: str, primer: str) -> str:
    """A download's title in the reader's language, which a notation program shows above the staff:
    "bach: Temperatur, Primer keine" on a German page (the method and "none" as the page words them)."""
    words = {"template": _(TITLE_WORDS), "no_primer": _(PRIMER_NONE)}
    return download_title(model, method_words(method), primer, **words)


def draw_figures(
    res: SamplingResult, i: int, row: dict, profile: dict, events: tuple, sharps: int | None
) -> None:
    """One method's figures under its music, and its MIDI and MusicXML downloads."""
    gen = res.gens[i]
    primer = res.settings.primer_name
    stem = download_stem(res.model, gen.config.method, primer, res.seed)
    title = title_words(res.model, gen.config.method, primer)
    st.caption(f"**{method_label(gen.config.label)}**")  # stacked on a narrow screen: which method's figures
    lang = current_language()  # key names in the reader's convention: Es-Dur, fis-Moll / E♭ major
    named_key = key_label(profile["key"], lang) if profile.get("key") else None
    source = {"metrics": row, "profile": {**profile, "key": named_key}}
    lines = [
        f"{_(label)}: **{format_metric(source[where].get(k), fmt)}**"
        for where, k, label, fmt in COLUMN_METRICS
    ]
    if profile.get("copy_piece"):
        lines[-1] += f" ({profile['copy_piece']})"
    st.markdown("  \n".join(lines))
    named = {"title": title, "composer": download_composer(res.model)}  # a MIDI file has no composer
    formats = (("MIDI", to_midi, "mid", "audio/midi", "midi", {"title": title}),
               ("MusicXML", to_musicxml, "musicxml", "application/xml", "xml", named))  # fmt: skip
    # A row that wraps, not two columns: in a narrow column two half-width buttons read "M..".
    with st.container(horizontal=True, gap="small"):
        for label, export, ext, mime, key, kw in formats:
            st.download_button(
                label,
                lambda ev=events, export=export, k=sharps, kw=kw: export(ev, key_sharps=k, **kw),  # on click
                f"{stem}.{ext}",
                mime,
                key=f"{key}_{i}",
                on_click="ignore",
                disabled=not events,
            )


@st.fragment
def listen_row(melodies: tuple, methods: tuple, columns: tuple = (0, 1, 2, 3)) -> None:
    """The shown columns' audio, each made when first asked for: OGG Vorbis for a whole class costs CPU
    no one waits for otherwise (about 0.1 s per minute of music, measured), so each has a button.
    Each names its method: on a narrow screen the columns stack and the row no longer sits under its
    sheet music. `columns`: each melody's column number (the keys of its button)."""
    heard = st.session_state.setdefault("heard", set())
    with st.container(key="sampling_listen"):
        for col, events, method, i in zip(st.columns(len(melodies)), melodies, methods, columns):
            with col:
                if i not in heard:
                    icon = ":material/play_arrow:"
                    label = _("Listen: {method}").format(method=method_words(method))
                    st.button(label, key=f"listen_{i}", icon=icon, on_click=_hear, args=(i,))
                    continue
                data = column_audio(events)
                if data is None:
                    st.caption(
                        _("{method}: nothing to play, this melody has no notes.").format(
                            method=method_words(method)
                        )
                    )
                else:  # autoplay only right after the click, not on every later redraw of the page
                    st.caption(method)
                    st.audio(data, format="audio/ogg", autoplay=st.session_state.get("autoplay") == i)
    st.session_state.pop("autoplay", None)


def _hear(i: int) -> None:
    st.session_state.heard.add(i)
    st.session_state.autoplay = i


def draw_below(res: SamplingResult) -> None:
    """Warnings, the comparison table and chart with the Bach row, the explorer and download-all."""
    st.subheader(_("How the methods compare"))
    comparison = res.comparison
    first = {g.config.method for g in res.gens}
    for warning in comparison.warnings:  # only the melodies shown above, not every pooled sample
        if warning.label in first or warning.label.endswith(" #1"):
            st.warning(warning_words(warning))
    settings = res.settings
    lengths = tuple(sorted({**length_settings(settings), "min_length": settings.min_length}.items()))
    path = settings.checkpoint
    figures_key = (path, mtime(Path(path)), settings.knobs, settings.constrained, lengths)
    # 64 melodies per method cost the server 10-25 s of CPU: made without asking only for the page's
    # default settings (once per model, shared by the class); other settings on a student's request,
    # so a room moving sliders does not queue minutes of work behind each Generate.
    if not (comparison_is_default(settings) or figures_key in asked_figures()):
        st.caption(
            _(
                "The bars compare {n} melodies per method. For the default settings they are made once "
                "for the class; for these settings the server needs about 10-25 seconds."
            ).format(n=METHOD_SAMPLES)
        )
        ask = _("Compare with {n} melodies per method").format(n=METHOD_SAMPLES)
        if st.button(ask, key="method_figures"):
            asked_figures().add(figures_key)
            st.rerun()
        style = False
    else:
        with st.spinner(
            _(
                "Making {n} melodies per method with this model and these settings (once for the class) ..."
            ).format(n=METHOD_SAMPLES)
        ):
            style = method_figures(*figures_key)
    if style:
        st.caption(
            _(
                "The bars: {n} melodies per method made by this model with these settings (no primer, "
                "seed 0), each with its 95% interval, the same figures as `python -m bachlstm compare`. "
                "The black dots: your melodies above."
            ).format(n=METHOD_SAMPLES)
        )
        draw_style(style, METHOD_SAMPLES, own_figures(res))
    elif style is None:
        st.info(_("This model has no recorded held-out split, so there is nothing to compare with."))
    with st.expander(_("Token-level metrics (per method, mean over its samples)")):
        draw_token_table(comparison.table)
    explorer(res)
    # the same names as the single downloads, so a student's files from both routes match
    shown = [(g, k) for g, k in zip(res.gens, column_key_signatures(res.gens)) if g.full_events]
    model, primer = res.model, res.settings.primer_name
    items = [(download_stem(model, g.config.method, primer, res.seed), g.full_events) for g, _ in shown]
    titles = [title_words(model, g.config.method, primer) for g, _ in shown]
    st.download_button(
        _("Download all (MIDI + MusicXML, zip)"),
        lambda: zip_melodies(
            items, key_signatures=[k for _, k in shown], titles=titles, composer=download_composer(model)
        ),
        f"{download_stem(model, 'all', primer, res.seed)}.zip",
        "application/zip",
        key="zip_all",
        on_click="ignore",
        disabled=not items,
    )


def comparison_is_default(settings: SamplingSettings) -> bool:
    """Whether the comparison's settings are the page's defaults (knobs, lengths, grammar, cadence): the
    ones whose 64-melody figures the page makes without being asked."""
    start = SamplingRequest("")
    return (settings.knobs, settings.length, settings.min_length, settings.constrained, settings.cadence) == (
        start.knobs,
        start.length,
        start.min_length,
        start.constrained,
        start.cadence,
    )


@st.cache_resource
def asked_figures() -> set:
    """The comparison settings some student asked for (server-wide): once made, shown to everyone."""
    return set()


def draw_token_table(table) -> None:
    """The token-level metrics with headers in words; a figure that does not apply shows MISSING."""
    config = {
        name: st.column_config.Column(_(words), help=with_glossary(_(meaning), COLUMN_TERMS.get(name)))
        for name, (words, meaning) in METRIC_WORDS.items()
        if name in table.columns
    }
    if "method" in table:
        table = table.assign(method=[method_label(m) for m in table["method"]])
    show_table(st, table, hide_index=True, width="stretch", column_config=config, placeholder=MISSING)
    if table.isna().any(axis=None):
        st.caption(f"{MISSING} {_(NOT_APPLICABLE)}")


def own_figures(res: SamplingResult) -> dict[str, dict[str, float]]:
    """Each column's melody's own figures, by method label, for the comparison chart's dots: those a
    single melody has (ends on the tonic, inner rests, notes outside the key, a remote key)."""
    out = {}
    for gen, profile in zip(res.gens, res.profiles):
        key = estimate_key(gen.events)
        if not profile or key is None:
            continue
        out[method_label(gen.config.label)] = {  # as style_frame names the method
            "ends on tonic": profile["ends_on_tonic"],
            "inner rests": profile["inner_rests"],
            "outside key": profile["outside_key"],
            "remote keys": float(abs(key.sharps) >= REMOTE_SHARPS),
        }
    return out


def interval_text(iv) -> str:
    """A 95% interval as "low–high" in the reader's format; "" for none or a single value."""
    return f"{significant(iv.low)}–{significant(iv.high)}" if iv is not None and iv.low != iv.high else ""


def draw_style(style, samples: int, own: dict | None = None) -> None:
    """The pooled comparison with Bach: values with intervals, each column's meaning, the noise floor;
    `own`: a melody's figures per method label, drawn as dots on the bars (`own_figures`)."""
    st.caption(_(STYLE_HELP).format(n=style.n_notes or _("all")))
    frame = style.frame()
    for name in frame.columns:  # the intervals ("0.8-0.95") in the reader's format, a column at a time
        if name.endswith(" 95%"):
            figures = [row.figures.get(name[:-4]) for row in style.rows]
            frame[name] = [interval_text(iv) or old for iv, old in zip(figures, frame[name])]
    if "method" in frame:
        frame = frame.assign(method=[method_label(m) for m in frame["method"]])
    # style.COLUMNS (names and meanings) are in the catalog (babel.cfg): a label and help for each column
    meanings = {_(name): _(text).format(n=style.n_notes or _("all")) for name, text in STYLE_COLUMNS.items()}
    config = {}
    for name in frame.columns:  # "remote keys" and its interval's column "remote keys 95%"
        base, interval = (name[:-4], " 95%") if name.endswith(" 95%") else (name, "")
        help_text = with_glossary(meanings.get(_(base)), COLUMN_TERMS.get(base))
        config[name] = st.column_config.Column(_(base) + interval, help=help_text)
    shown = [c for c in frame.columns if not c.endswith(" 95%")] if samples == 1 else list(frame.columns)
    show_table(st, frame[shown], hide_index=True, width="stretch", column_config=config, placeholder=MISSING)
    floor_pc, floor_tr = style.noise_floor
    st.caption(
        _(
            "Noise floor (Bach validation vs Bach test): {pc} bits for pitch classes, {tr} for transitions. "
            "Held-out Bach shares up to {n} notes with the training melodies by chance; only longer copies "
            "count as copied."
        ).format(pc=number(floor_pc, 3), tr=number(floor_tr, 3), n=style.memorization_floor)
    )
    chart = charts.style_frame(style)
    zero = charts.zero_figures(chart)
    drawn = chart[[figure.rsplit(" (", 1)[0] not in zero for figure in chart.figure]]
    if own:
        drawn = charts.with_own_points(drawn, own)
    if not drawn.empty:
        st.vega_lite_chart(drawn, charts.localized(charts.style_chart(drawn)))
    for name in zero:  # a panel of zero-height bars reads as a broken chart: a sentence says it
        st.caption(
            _("**{name}** ({meaning}) is 0 for every method and for Bach: no chart.").format(
                name=name, meaning=meanings.get(name, name)
            )
        )


@st.fragment
def explorer(res: SamplingResult) -> None:
    """The next-token distribution at a chosen step and where each method cuts it (reruns on its own)."""
    st.subheader(_(NEXT_TOKEN_EXPLORER))
    gens, ck = res.gens, res.checkpoint
    c = st.columns(2)
    # The method's label is the option, not its row: a new Generate with other settings relabels the rows,
    # and a browser keeps the label it drew for a chosen option.
    by_label = {g.config.label: g for g in gens}
    shown = {label: method_label(label) for label in by_label}
    gen = by_label[
        c[0].selectbox(
            _("Context from the melody of"), list(by_label), format_func=shown.__getitem__, key="explore_row"
        )
    ]
    if not gen.tokens:
        st.info(_("This melody has no generated tokens to explore."))
        return
    step = c[1].slider(_("Step"), 1, len(gen.tokens), 1, key="explore_step")
    context = gen.full_tokens[: len(gen.primer_tokens) + step - 1]
    view = next_token_view(ck, tuple(context), tuple(g.config for g in gens), res.constrained)
    with st.container(key="sampling_explorer"):
        for col, spec in zip(st.columns(2) * 2, view["spec"]):  # two a row, two rows
            col.vega_lite_chart(view["data"], charts.localized(spec), width="stretch")
    chosen = ck.tokenizer.vocab[gen.tokens[step - 1]]
    st.caption(
        _(
            "At step {step} the {method} melody chose **{token}**. Wide bars: the model's probabilities "
            "(red = cut by that method); narrow bars: what the method samples from. Greedy keeps one token; "
            "temperature below 1 sharpens the distribution, above 1 flattens it."
        ).format(step=step, method=method_words(gen.config.method), token=chosen)
    )
