"""Glossary page in AppTest: every entry in both languages, one entry opened from a link, the search, and
every place an entry names is a page of the app."""

import re

import pytest

from app_pages import i18n
from app_pages.terms import BY_KEY, PAGE_TITLES, TERMS, glossary_url
from tests.app.helpers import fresh_caches, new_app  # noqa: F401 (autouse fixture)
from tests.builders import ROOT

GLOSSARY = "app_pages/glossary.py"
REGISTERED = re.findall(r'st\.Page\(\s*"(app_pages/\w+\.py)"', (ROOT / "streamlit_app.py").read_text())


def glossary(lang: str, **query: str):
    at = new_app(lang=lang, **query)
    at.run()
    return at.switch_page(GLOSSARY).run()


@pytest.mark.parametrize("lang", ["en", "de"])
def test_every_entry_is_shown_in_the_pages_language(lang):
    at = glossary(lang)
    assert not at.exception, at.exception
    with i18n.using(lang):
        names = sorted((i18n.gettext_(t.name) for t in TERMS), key=str.casefold)
        first = TERMS[0]
        expected = i18n.gettext_(first.text)
    assert [h.value for h in at.subheader] == names
    assert expected in [m.value for m in at.markdown]
    assert len(at.get("page_link")) == sum(len(t.where) for t in TERMS)
    if lang == "de":
        assert "Glossar" in at.title[0].value and "Ambitus pro Stimme" in {
            link.proto.label.split(": ", 1)[1] for link in at.get("page_link")
        }


def test_a_link_opens_at_its_entry_and_the_search_narrows_the_list():
    at = glossary("de", term="tonic-step")
    assert not at.exception
    assert at.info[0].value.startswith("**Tonika schrittweise erreicht**: Der Anteil der Melodien")
    at.text_input(key="glossary_find").set_value("Kadenz").run()
    assert [h.value for h in at.subheader] == ["Fermate", "Kadenz"]  # the fermata names it in its text
    at.text_input(key="glossary_find").set_value("xyzzy").run()
    assert not at.subheader and "xyzzy" in at.info[-1].value


def test_every_place_an_entry_names_is_a_page_of_the_app_and_keys_are_unique():
    assert set(PAGE_TITLES) <= set(REGISTERED)
    assert all(page in PAGE_TITLES for t in TERMS for page, _ in t.where)
    assert len(BY_KEY) == len(TERMS) and all(re.fullmatch(r"[a-z0-9-]+", k) for k in BY_KEY)
    assert glossary_url("ambitus", "de", "Anna M.") == "glossary?lang=de&term=ambitus&student=Anna+M.#ambitus"


@pytest.mark.parametrize("lang", ["en", "de"])
def test_jargon_on_the_pages_links_to_its_entry(lang):
    at = new_app(lang=lang)
    at.run()
    at.switch_page("app_pages/corpus.py").run()
    assert not at.exception, at.exception
    helps = [m.proto.help for m in at.metric] + [m.proto.help for m in at.markdown]
    word = {"en": "Glossary", "de": "Glossar"}[lang]
    for key in ("token", "ambitus", "tonality", "vocabulary"):
        url = glossary_url(key, lang, "Tess")
        assert any(f"]({url})" in h and f"[{word}: " in h for h in helps), (key, helps)
    at = new_app(lang=lang)  # a new session: AppTest cannot carry a translated option to another page
    at.run()
    at.switch_page("app_pages/inside.py").run()
    assert "term=information-content" in at.metric[0].proto.help


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_glossary_names_the_sampling_pages_controls_by_the_labels_the_page_shows(lang):
    from app_pages.messages import SAMPLING_CONTROLS
    from app_pages.terms import SAMPLING, figure_labels

    named = {
        label
        for t in TERMS
        for page, figure in t.where
        if page == SAMPLING
        for label in figure_labels(figure)
    }
    controls = named & set(SAMPLING_CONTROLS)
    assert controls == set(SAMPLING_CONTROLS)  # the glossary names every control by the page's own message id
    at = new_app(lang=lang, timeout=180)
    at.run()
    at.switch_page(SAMPLING).run()
    at.selectbox(key="ckpt").set_value("workshop").run()
    at.slider(key="length").set_value(16)
    at.button(key="generate").click().run()
    assert not at.exception, at.exception
    kinds = ("radio", "slider", "number_input", "selectbox", "toggle")
    shown = {w.label for kind in kinds for w in at.get(kind)} | {h.value for h in at.subheader}
    with i18n.using(lang):
        assert {i18n.gettext_(label) for label in controls} <= shown
    links = [link.proto.label for link in glossary(lang).get("page_link")]
    with i18n.using(lang):
        page = i18n.gettext_(PAGE_TITLES[SAMPLING])
        length, explorer = i18n.gettext_(SAMPLING_CONTROLS[0]), i18n.gettext_(SAMPLING_CONTROLS[3])
    assert f"{page}: {length}, {explorer}" in links
