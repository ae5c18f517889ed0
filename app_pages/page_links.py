"""Links that open a page with some of its settings chosen (the lesson path's steps, a teacher's link).

A page names the settings a link may choose, each a widget key with a reader of its text:
`apply_link_settings({"corpus_min": whole_number, "corpus_tokenizer": one_of(("event", "factored"))})`
before its widgets are drawn (`start=`: the starting values of widgets that would have a default). A
setting found in the address (`?corpus_min=30`) becomes the widget's value in the session, once: it is
then taken out of the address, so a rerun or the student's own change is not undone. A value the page
cannot use is said in a sentence and left out. (The Sampling page has links of its own,
`bachlstm.reports.links`, which also generate the melodies.)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import streamlit as st

from app_pages.i18n import translator

_ = translator(__name__)


def one_of(options: Collection[str]) -> Callable[[str], str]:
    """A reader that accepts one of `options` as it is."""

    def read(text: str) -> str:
        if text not in options:
            raise ValueError(text)
        return text

    return read


def some_of(options: Collection[str]) -> Callable[[str], list[str]]:
    """A reader of a comma-separated choice among `options` ("4/4,3/4")."""

    def read(text: str) -> list[str]:
        chosen = [part.strip() for part in text.split(",") if part.strip()]
        if any(part not in options for part in chosen):
            raise ValueError(text)
        return chosen

    return read


def whole_number(text: str) -> int:
    """A reader of a whole number 0 or more."""
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def plain_text(text: str) -> str:
    """A reader that takes the text as it is (a field the page checks itself)."""
    return text


def apply_link_settings(
    readers: Mapping[str, Callable[[str], object]], start: Mapping[str, object] | None = None
) -> list[str]:
    """Copy the settings the address names (query names = widget keys) into the session, read by
    `readers`; take them out of the address. Returns the keys applied, in `readers`' order.

    `start`: the starting values of those widgets whose default is not their first option (a
    multiselect's choice, a number, a later option), put in the session where it holds none. The page
    draws these widgets without a default of their own: Streamlit warns ("created with a default value
    but also had its value set via the Session State API") about a widget given both, as a link's is.
    """
    for key, value in (start or {}).items():
        if key not in st.session_state:
            st.session_state[key] = value
    applied = []
    for key, read in readers.items():
        raw = st.query_params.get(key)
        if raw is None:
            continue
        del st.query_params[key]
        try:
            st.session_state[key] = read(raw)
        except (TypeError, ValueError):
            st.warning(
                _("The link's setting “{key}={value}” cannot be used here: it is left out.").format(
                    key=key, value=raw
                )
            )
            continue
        applied.append(key)
    return applied
