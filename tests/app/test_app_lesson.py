"""Lesson path in AppTest: the steps in both languages, and every step's link opens the page it names with
the setting it names (a new session follows each link as the student would)."""

from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from app_pages import i18n
from app_pages.lesson_steps import STEPS
from tests.app.helpers import fresh_caches, new_app, open_app, widget_value_warnings  # noqa: F401 (autouse fixture)

LESSON = "app_pages/lesson.py"


def lesson(lang: str):
    at = new_app(lang=lang)
    at.run()
    return at.switch_page(LESSON).run()


@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_steps_in_order_each_with_its_link(lang):
    at = lesson(lang)
    assert not at.exception, at.exception
    with i18n.using(lang):
        titles = [f"{n}. {i18n.gettext_(s.title)}" for n, s in enumerate(STEPS, start=1)]
        questions = [i18n.gettext_(s.question) for s in STEPS]
    assert [h.value for h in at.subheader] == titles
    shown = " ".join(m.value for m in at.markdown)
    assert all(q in shown for q in questions)
    links = at.get("page_link")
    assert [link.proto.page for link in links] == [Path(s.page).stem for s in STEPS]
    assert [dict(parse_qsl(link.proto.query_string)) for link in links] == [s.query for s in STEPS]


def follow(step):
    """A student on Home who clicks the step's link: its page, with the link's address (a Sampling link
    generates at once, and the comparison pools many melodies: minutes on a busy 2-core machine)."""
    at = open_app(timeout=400)
    at.query_params.update(step.query)
    return at.switch_page(step.page).run()


def value(at, kind: str, key: str):
    return getattr(at, kind)(key=key).value


# A Sampling link generates at once (about a minute for the comparison's pooled melodies): slow.
STEP_PARAMS = [
    pytest.param(n, marks=pytest.mark.slow) if Path(step.page).stem == "sampling" else n
    for n, step in enumerate(STEPS)
]


@pytest.mark.parametrize("number", STEP_PARAMS, ids=lambda n: f"step{n + 1}")
def test_each_link_opens_the_named_page_and_setting(number):
    step = STEPS[number]
    with widget_value_warnings() as warned:  # a link's value beside a widget's default: Streamlit warns
        at = follow(step)
    assert not at.exception, at.exception
    assert not warned, warned
    refused = [w.value for w in at.warning if "link" in w.value.lower()] + [e.value for e in at.error]
    assert not refused  # every setting of the link could be used
    page = Path(step.page).stem
    if page == "corpus":
        readers = {"corpus_ts": "multiselect", "corpus_voice": "selectbox", "corpus_tokenizer": "selectbox"}
        for key, wanted in step.query.items():
            kind = readers.get(key, "number_input")
            got = value(at, kind, key)
            assert (",".join(got) if kind == "multiselect" else str(got)) == wanted, key
    elif page == "training":
        assert value(at, "selectbox", "train_preset") == step.query["train_preset"]
        if "sweep_field" in step.query:
            assert value(at, "selectbox", "sweep_field") == step.query["sweep_field"]
            assert value(at, "text_input", "sweep_values") == step.query["sweep_values"]
            (sweep_box,) = [e for e in at.expander if e.label.startswith("Hyperparameter sweep")]
            assert sweep_box.proto.expanded  # the link's sweep is in sight, not in a closed box
    elif page == "inside":
        assert value(at, "selectbox", "inside_ckpt") == step.query["inside_ckpt"]
        assert at.selectbox(key="inside_layer"), "the Gates and states tab is open"
    else:  # a Sampling link: its melodies made at once with its settings
        settings = at.session_state["sampling"].settings
        assert settings.model == step.query["model"] and settings.seed == int(step.query["seed"])
        if "temperature" in step.query:
            assert settings.knobs.temperature == float(step.query["temperature"])
    assert not any(k in at.query_params for k in step.query if page != "sampling")  # applied once


def test_a_setting_the_page_cannot_use_is_said_and_left_out():
    at = open_app()
    at.query_params.update({"corpus_tokenizer": "words", "corpus_min": "30"})
    at.switch_page("app_pages/corpus.py").run()
    assert not at.exception
    assert value(at, "number_input", "corpus_min") == 30
    assert value(at, "selectbox", "corpus_tokenizer") == "event"
    assert "corpus_tokenizer=words" in at.warning[0].value
