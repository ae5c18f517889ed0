"""Who is at this browser tab: the student's display name, asked once, kept in the session and the address.

No password (a classroom): the name is who the student is on this server. It lives in the session
(`st.session_state["student"]`) and in the address (`?student=NAME`), so a reload, a second tab or a
bookmark comes back as the same student, and a link (or a test) opens any page as any student.
streamlit_app.py calls `require_student()` before every page but the teacher's; a page asks
`current_student()` who it is drawing for.
"""

from __future__ import annotations

import streamlit as st

from app_pages.common import STUDENT, class_records, current_student, records_problem_text
from app_pages.i18n import translator
from app_pages.messages import describe
from bachlstm.classroom.records import RecordsError
from bachlstm.classroom.students import StudentNameError, validate_student_name

__all__ = [
    "current_student",
    "require_student",
    "draw_student_sidebar",
    "name_problem_text",
    "forget_student",
]


_ = translator(__name__)


def name_problem_text(exc: StudentNameError) -> str:
    """A display name's problem as a sentence for the student."""
    return describe(exc)


def register(name: str) -> str:
    """Note the student in the class's records: the name as the class first knew it ('anna' is 'Anna').

    A records problem is said, and the page goes on with the name as given.
    """
    try:
        return class_records().add_student(name).name
    except RecordsError as exc:
        st.warning(records_problem_text(exc))
        return name


def become(name: str) -> str:
    """Make this tab `name`'s (already validated): records, session, address; the name kept."""
    name = register(name)
    st.session_state[STUDENT] = name
    st.query_params[STUDENT] = name
    return name


def forget_student() -> None:
    """Leave this tab's name (a shared laptop: the next student gives theirs)."""
    st.session_state.pop(STUDENT, None)
    st.session_state.pop("name_entered", None)
    st.query_params.pop(STUDENT, None)


def require_student() -> str:
    """This tab's student: from the address, else the session, else asked (the page waits for a name).

    The address wins over the session: a link `?student=NAME` opens the app as that student.
    """
    raw = st.query_params.get(STUDENT)
    held = current_student() or None
    if raw and raw != held:
        try:
            name = validate_student_name(raw)
        except StudentNameError as exc:
            st.error(
                _("The name in the address cannot be used: {problem}").format(problem=name_problem_text(exc))
            )
        else:
            if name == held:  # the tidied form ("Anna  M." -> "Anna M.") in the address
                st.query_params[STUDENT] = name
                return name
            return become(name)
    if held is not None:
        if raw != held:  # a page switch clears the address; put the name back
            st.query_params[STUDENT] = held
        return held
    ask_name()
    st.stop()
    raise AssertionError("unreachable")  # st.stop ends the script run


def ask_name() -> None:
    """The first visit: ask the student's display name, no password."""
    st.title(_("Welcome to bachlstm"))
    st.markdown(
        _(
            "Please give the name you want to appear under in this workshop (your first name, or a "
            "first name and an initial). Your runs will carry it, and your teacher will see it. "
            "There is no password."
        )
    )
    with st.form("student_form"):
        raw = st.text_input(_("Your name"), key="student_name_input", max_chars=60)
        entered = st.form_submit_button(_("Continue"), type="primary")
    if not entered:
        return
    try:
        name = validate_student_name(raw)
    except StudentNameError as exc:
        st.error(name_problem_text(exc))
        return
    become(name)
    st.rerun()


def draw_student_sidebar() -> None:
    """The student's name in the sidebar, and a way to give another (a laptop shared between students)."""
    name = current_student()
    if not name:
        return
    st.sidebar.caption(_("Student: **{name}**").format(name=name))
    if st.sidebar.button(_("Not {name}? Change the name").format(name=name), key="student_change"):
        forget_student()
        st.rerun()
