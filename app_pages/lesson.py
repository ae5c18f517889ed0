"""Lesson path: the workshop's steps in order, each with what to do, what to look at, a question for the
class, and a link that opens the right page with the right setting."""

import streamlit as st

from app_pages.i18n import current_language, translator
from app_pages.identity import current_student
from app_pages.lesson_steps import STEPS
from app_pages.terms import BY_KEY, glossary_url

_ = translator(__name__)

st.title(_("Lesson path"))
st.markdown(
    _(
        "The workshop “Machine Learning & Musicology” in seven steps: from the Bach chorales in music21 to a "
        "small LSTM in PyTorch, the ways of sampling from it, and listening. Each step says what to do, "
        "what to look at and one question to discuss; its link opens the page with the right setting."
    )
)
lang, student = current_language(), current_student()
do, look, discuss = _("Do"), _("Look at"), _("Discuss")
for number, step in enumerate(STEPS, start=1):
    with st.container(border=True):
        st.subheader(f"{number}. {_(step.title)}")
        st.caption(_("Workshop goal: {goal}").format(goal=_(step.goal)))
        st.markdown(f"**{do}**: {_(step.do)}")
        st.markdown(f"**{look}**: {_(step.look)}")
        st.markdown(f"**{discuss}**: {_(step.question)}")
        # The link keeps the language; the page then reads the settings (page_links, or a Sampling link).
        st.page_link(step.page, label=_(step.link), icon=":material/arrow_forward:", query_params=step.query)
        if step.terms:
            words = ", ".join(f"[{_(BY_KEY[k].name)}]({glossary_url(k, lang, student)})" for k in step.terms)
            st.caption(_("Words of this step: {words}").format(words=words))
