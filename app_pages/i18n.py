"""The one translation layer: German or English for every text a page shows (gettext catalogs, Babel).

Use in a page or helper module:

    from app_pages.i18n import translator
    _ = translator(__name__)
    st.button(_("Generate"))
    st.caption(_("{n} melodies").format(n=len(melodies)))     # placeholders by name, never by position
    st.caption(ngettext("{n} melody", "{n} melodies", n).format(n=n))
    LABELS = {"seed": N_("Seed")}  # a module constant: marked here, translated where shown: _(LABELS[k])

`_` looks the language up on every call, so a helper module imported once serves every session in its
own language. The English text is the message id; the German catalog is
`app_pages/locales/de/LC_MESSAGES/messages.po`, read at run time (no compiled .mo, no build step).
After adding or changing texts (see `app_pages/locales/README.md`):

    PYTHONPATH=. pybabel extract -F babel.cfg -o app_pages/locales/messages.pot --no-location \
        --sort-output --no-wrap .
    pybabel update -i app_pages/locales/messages.pot -d app_pages/locales --no-wrap --ignore-obsolete \
        --omit-header
    # then write the German `msgstr`s (an updated text comes back "fuzzy": check it, drop the flag);
    # tests/app/test_i18n.py fails on any left empty or fuzzy, and on {placeholders} that differ

Don't name a throwaway variable `_` in a module that translates (`for _ in ...` hides the translator).
Library texts a page shows: the library gives codes with values (app_pages/messages.py words them), or
a table of English templates keyed by code that babel.cfg extracts (bachlstm/music/notices.py's TEXTS).

The language: what the student picked in this session, else `?lang=de|en` in the address, else this
session's earlier language, else the browser's (`st.context.locale`: German if it starts with "de",
English otherwise); the sidebar's picker changes it and writes it to the address, so a link or a test
can choose it. A shared link carries the sharer's language (`with_language`).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import gettext
import io
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import streamlit as st
from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

LANGUAGES = ("de", "en")
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}  # each in its own language, so anyone finds theirs
DEFAULT = "en"  # where nothing says otherwise (no browser language, no script run: AppTest, the CLI)
LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
STATE_KEY = "lang"  # st.session_state[STATE_KEY]: the session's language
PICKED_KEY = "lang_picked"  # st.session_state[PICKED_KEY]: True once the student chose with the picker
_WIDGET_KEY = "_lang_picker"
_PICKER_LABEL = "Sprache / Language"  # both: whoever cannot read the page's language still finds it

# A language set for a block of code outside a page run (tests, pre-rendered texts): `using("de")`.
_forced: contextvars.ContextVar[str | None] = contextvars.ContextVar("bachlstm_lang", default=None)


def po_path(lang: str) -> Path:
    """The catalog file of one language."""
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def _catalog(lang: str, mtime: float) -> gettext.NullTranslations:
    """The language's catalog as gettext translations, compiled in memory (cached per file version)."""
    path = po_path(lang)
    if lang == DEFAULT or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)  # fuzzy entries are left out: an unchecked guess shows the English text
    buf.seek(0)
    return gettext.GNUTranslations(buf)


# How often the catalog file is looked at for a newer version (an edited .po shows without a restart).
# Looking at every text cost a Generate about 7 ms of server CPU (~400 texts, a stat and a path each).
CHECK_EVERY_S = 2.0
_checked: dict[str, tuple[float, gettext.NullTranslations]] = {}  # language -> (when, translations)


def translations(lang: str | None = None) -> gettext.NullTranslations:
    """The gettext translations of `lang` (default: the current language)."""
    lang = lang or current_language()
    now = time.monotonic()
    seen = _checked.get(lang)
    if seen is None or now - seen[0] > CHECK_EVERY_S:
        path = po_path(lang)
        seen = (now, _catalog(lang, path.stat().st_mtime if path.exists() else 0.0))
        _checked[lang] = seen  # a plain dict store: two sessions racing here store equal values
    return seen[1]


def language_of_locale(locale: str | None) -> str:
    """ "de" for a German browser locale ("de", "de-AT", "de_CH"), English for any other or none."""
    return "de" if (locale or "").lower().startswith("de") else "en"


def _page_run():
    """This thread's page run (Streamlit's ScriptRunContext), or None outside one."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return get_script_run_ctx(suppress_warning=True)


# The language of this thread's current page run, once looked up: (the run's `cursors` dict, language).
# A page asks ~700 times per Generate, and each look-up in the session state costs a lock and a widget
# map (~5 us). Streamlit gives every run (and fragment run) a new `cursors` dict, and the language only
# changes through this module (`choose_language`, `_picked`), which forgets what was kept.
_kept = threading.local()


def _chosen_language() -> str:
    """The language the student picked in this session, else the address's ?lang= (a shared link's:
    the sharer's), else this session's earlier language, else the browser's."""
    earlier = st.session_state.get(STATE_KEY)
    if st.session_state.get(PICKED_KEY) and earlier in LANGUAGES:
        return earlier
    asked = st.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    if earlier in LANGUAGES:
        return earlier
    return language_of_locale(st.context.locale)


def current_language() -> str:
    """ "de" or "en": the language every text of this page run is shown in."""
    forced = _forced.get()
    if forced is not None:
        return forced
    run = _page_run()
    if run is None:
        return DEFAULT
    this_run = getattr(run, "cursors", None)  # None in a Streamlit without it: looked up every time
    kept = getattr(_kept, "run", None)
    if this_run is not None and kept is not None and kept[0] is this_run:
        return kept[1]
    lang = st.session_state.get(STATE_KEY)
    lang = lang if lang in LANGUAGES else _chosen_language()
    _kept.run = (this_run, lang) if this_run is not None else None
    return lang


@contextlib.contextmanager
def using(lang: str) -> Iterator[None]:
    """Within the block, texts are in `lang` whatever the session chose (tests, texts made ahead)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {lang!r}")
    token = _forced.set(lang)
    try:
        yield
    finally:
        _forced.reset(token)


def gettext_(message: str) -> str:
    """`message` (the English text) in the current language."""
    return translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural text for `n`, by the current language's plural rule (format {n} yourself)."""
    return translations().ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "mark for extraction, translate later")
    """Mark a module constant for the catalog without translating it now: show it with `_(CONSTANT)`."""
    return message


def translator(module: str) -> Callable[[str], str]:
    """The `_` of a module: `_ = translator(__name__)`; `_("English text")` in the current language.

    One catalog (domain) serves every module; `module` is kept for messages about missing texts.
    """

    def _(message: str) -> str:
        return gettext_(message)

    _.__qualname__ = f"translator({module})"
    return _


def extract_library_texts(fileobj, keywords, comment_tags, options):
    """A Babel extraction method (babel.cfg `[texts: ...]`): the library's English texts a page translates.

    `names = TEXTS`: the str values of those module-level dicts, (singular, plural) pairs as plurals
    (`keys = COLUMNS`: keys and values);
    `arguments = description`: the str passed
    as that keyword argument to any call (a preset's description).
    """
    import ast

    names = set(options.get("names", "").split())
    with_keys = set(options.get("keys", "").split())  # dicts whose keys are texts too (column names)
    keys = set(options.get("arguments", "").split())
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Dict):
            target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
            if isinstance(target, ast.Name) and target.id in names | with_keys:
                texts = node.value.values + (node.value.keys if target.id in with_keys else [])
                for value in texts:
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        yield value.lineno, "", value.value, []
                    elif isinstance(value, ast.Tuple) and len(value.elts) == 2:  # (singular, plural)
                        forms = tuple(e.value for e in value.elts if isinstance(e, ast.Constant))
                        if len(forms) == 2 and all(isinstance(f, str) for f in forms):
                            yield value.lineno, "ngettext", forms, []
        elif isinstance(node, ast.keyword) and node.arg in keys:
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                yield value.lineno, "", value.value, []


def _picked() -> None:
    """The picker changed: remember the choice for the session and in the address."""
    lang = st.session_state[_WIDGET_KEY]
    st.session_state[STATE_KEY] = lang
    st.session_state[PICKED_KEY] = True
    _kept.run = None
    st.query_params["lang"] = lang


def with_language(params: Mapping[str, str]) -> dict[str, str]:
    """A shared link's query parameters with this page's language added (`lang=`, last): a classmate
    who opens it reads the sharer's language, unless they picked one themselves in their session."""
    return {**{k: v for k, v in params.items() if k != "lang"}, "lang": current_language()}


def choose_language() -> str:
    """Fix this run's language (address, session, browser) and keep it; call once, before any text."""
    lang = _chosen_language()
    st.session_state[STATE_KEY] = lang
    _kept.run = None
    if st.query_params.get("lang") != lang:
        st.query_params["lang"] = lang  # a copied link opens in the same language
    return lang


def language_picker() -> None:
    """The sidebar's language box (streamlit_app.py draws it once for every page)."""
    st.session_state[_WIDGET_KEY] = current_language()
    st.sidebar.selectbox(
        _PICKER_LABEL,
        LANGUAGES,
        format_func=LANGUAGE_NAMES.__getitem__,
        key=_WIDGET_KEY,
        on_change=_picked,
    )


def number(value: float, decimals: int = 0) -> str:
    """A number with `decimals` places in the current language: 1,234.5 in English, 1.234,5 in German."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=current_language())


def percent(fraction: float, decimals: int = 0, lang: str | None = None) -> str:
    """A fraction as a percentage in the current language (or `lang`), by the language's own pattern with
    `decimals` places: 12.5% / 12,5 % (a no-break space before the sign in German)."""
    lang = lang or current_language()
    pattern = Locale.parse(lang).percent_formats[None].pattern
    if decimals > 0:
        pattern = pattern.replace("#,##0", "#,##0." + "0" * decimals, 1)
    return format_percent(fraction, format=pattern, locale=lang)


def percent_sign(lang: str) -> str:
    """What follows a percentage's digits in `lang` ("%", German "\u00a0%"): the charts' number locale."""
    return percent(0.0, lang=lang).lstrip("0")
