"""bachlstm dashboard entry point: `streamlit run streamlit_app.py` (st.navigation over app_pages/)."""

import os
import re
from pathlib import Path

# Set before anything imports torch (the pages import it late). Generating four short melodies gains
# nothing from more threads, and on a busy 2-core server idle OpenMP threads spin: one Generate took
# 13 s of CPU with 2 threads against 0.07 s with 1 (measured). Training jobs set their own count.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import streamlit as st  # noqa: E402

from app_pages.common import new_page_run, startup_cleanup  # noqa: E402
from app_pages.i18n import choose_language, language_picker, translator  # noqa: E402
from app_pages.identity import draw_student_sidebar, require_student  # noqa: E402
from app_pages.training_views import draw_run_status  # noqa: E402

_ = translator(__name__)

st.set_page_config(page_title="bachlstm: LSTM Bach chorales", page_icon=":musical_score:", layout="wide")
# Narrow screens: columns wrap (see the file). Its comments stay out of the page: they are no page text.
LAYOUT = re.sub(
    r"/\*.*?\*/", "", (Path(__file__).parent / "app_pages" / "layout.css").read_text(), flags=re.S
)
st.html(f"<style>{LAYOUT}</style>")

# The page files live in app_pages/, not pages/: with a pages/ folder Streamlit 1.67 still runs the old
# folder-based navigation whenever a server's first request is for a page URL (e.g. a reloaded
# /sampling tab), which skips this script, lists every helper module as a page and drops the layout.
choose_language()  # ?lang= in the address, else this session's choice, else the browser's language
pages = [
    st.Page("app_pages/home.py", title=_("Home"), icon=":material/home:", default=True),
    st.Page("app_pages/lesson.py", title=_("Lesson path"), icon=":material/school:"),
    st.Page("app_pages/corpus.py", title=_("Corpus"), icon=":material/library_music:"),
    st.Page("app_pages/training.py", title=_("Training"), icon=":material/model_training:"),
    st.Page("app_pages/sampling.py", title=_("Sampling"), icon=":material/queue_music:"),
    st.Page("app_pages/inside.py", title=_("Inside the model"), icon=":material/neurology:"),
    st.Page("app_pages/board.py", title=_("Class board"), icon=":material/dashboard:"),
    st.Page("app_pages/listening.py", title=_("Bach or model?"), icon=":material/hearing:"),
    st.Page("app_pages/glossary.py", title=_("Glossary"), icon=":material/menu_book:"),
    st.Page(
        "app_pages/teacher.py", title=_("Teacher"), icon=":material/admin_panel_settings:", url_path="teacher"
    ),
]
page = st.navigation(pages)
language_picker()
startup_cleanup()  # temp files of processes killed while saving (once per server)
new_page_run()

# Every student gives a name once (kept in the session and in the address as ?student=NAME): their
# runs carry it, and a reload, a second tab or a bookmark comes back as the same student.
if page.url_path != "teacher":  # the teacher page asks for its PIN, not a student's name
    require_student()
    draw_student_sidebar()

# Training runs on while the student is on other pages: say so in the sidebar of every page, live.
with st.sidebar:
    draw_run_status()
page.run()
