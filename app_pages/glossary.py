"""Glossary: the terms the pages use, in a student's words, with the page and figure where each appears."""

import streamlit as st

from app_pages.i18n import translator
from app_pages.terms import BY_KEY, PAGE_TITLES, TERMS, figure_words

_ = translator(__name__)

st.title(_("Glossary"))
st.caption(
    _(
        "The words the pages use, explained. Each entry says where the term appears; the links open that "
        "page. A label with a (?) on the other pages explains its term too and links here."
    )
)
asked = BY_KEY.get(st.query_params.get("term", ""))
if asked is not None:  # opened from a help tooltip: that entry first
    st.info(f"**{_(asked.name)}**: {_(asked.text)}", icon=":material/menu_book:")
find = st.text_input(_("Find a term"), key="glossary_find", placeholder=_("e.g. perplexity"))
terms = sorted(TERMS, key=lambda t: _(t.name).casefold())
if find.strip():
    needle = find.strip().casefold()
    terms = [t for t in terms if needle in _(t.name).casefold() or needle in _(t.text).casefold()]
    if not terms:
        st.info(_("No entry mentions “{text}”.").format(text=find.strip()))
for term in terms:
    st.subheader(_(term.name), anchor=term.key, divider="gray")
    st.markdown(_(term.text))
    for page, figure in term.where:
        st.page_link(
            page, label=f"{_(PAGE_TITLES[page])}: {figure_words(figure)}", icon=":material/arrow_forward:"
        )
