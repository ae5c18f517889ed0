"""Corpus page in AppTest: renders every chart, filters change the numbers, bad filters give a message."""

from streamlit.testing.v1 import AppTest

from tests.app.helpers import fresh_caches, leave_and_return, open_app, widget_value_warnings  # noqa: F401


def corpus_page() -> AppTest:
    return open_app("app_pages/corpus.py")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_default_filters_show_all_charts_and_the_piece_browser():
    at = corpus_page()
    assert not at.exception
    # 362 pieces are 4/4 throughout, minus 3 Humdrum duplicates, one has no soprano: 359 (measured)
    assert metrics(at)["Melodies selected"] == "359"
    assert metrics(at)["Left out"] == "54"
    assert len(at.get("vega_lite_chart")) == 9
    assert len(at.image) == 1 and at.image[0].proto.imgs[0].url.startswith("data:image/svg+xml")
    assert len(at.get("audio")) == 1
    assert at.get("download_button")[0].proto.label == "Download MIDI"


def test_length_filters_change_the_numbers_and_are_explained():
    at = corpus_page()
    at.multiselect(key="corpus_ts").set_value(["4/4"])
    at.selectbox(key="corpus_voice").set_value("first")
    at.number_input(key="corpus_min").set_value(30)
    at.number_input(key="corpus_max").set_value(65)
    at.button(key="FormSubmitter:corpus_form-Apply filters").click().run()
    assert not at.exception
    got = metrics(at)
    # the original selection: 4/4 first parts with 30..65 notes+rests: 293 of 362, one a .krn duplicate
    assert got["Melodies selected"] == "292"
    summary = at.dataframe[0].value
    assert set(summary.reason) >= {"selected", "too short", "too long"}
    assert "fewer notes and rests" in summary.set_index("reason").loc["too short", "explanation"]


def test_tokenizer_choice_changes_the_token_count():
    at = corpus_page()
    event_tokens = metrics(at)["Tokens (event)"]
    at.selectbox(key="corpus_tokenizer").set_value("factored")
    at.button(key="FormSubmitter:corpus_form-Apply filters").click().run()
    assert not at.exception
    assert metrics(at)["Tokens (factored)"] != event_tokens


def test_min_above_max_is_a_clear_error():
    at = corpus_page()
    at.number_input(key="corpus_min").set_value(80)
    at.number_input(key="corpus_max").set_value(40)
    at.button(key="FormSubmitter:corpus_form-Apply filters").click().run()
    assert not at.exception
    assert at.error[0].value == (
        "These filters cannot be used: **Min notes+rests** (80) must not be larger than the maximum (40)."
    )


def test_a_negative_length_is_a_clear_error_not_a_red_field():
    """The new-user trial: the fields took only 0-2000, and -3 turned red while the old filters stayed."""
    at = corpus_page()
    at.number_input(key="corpus_min").set_value(-3)
    at.button(key="FormSubmitter:corpus_form-Apply filters").click().run()
    assert not at.exception
    assert at.error[0].value == (
        "These filters cannot be used: **Min notes+rests** must be a whole number of at least 0, got -3."
    )
    at.number_input(key="corpus_min").set_value(0)
    at.number_input(key="corpus_max").set_value(99999)  # above any melody: keeps them all
    at.button(key="FormSubmitter:corpus_form-Apply filters").click().run()
    assert not at.exception and not at.error
    assert int(metrics(at)["Melodies selected"]) > 300


def test_filters_that_keep_nothing_say_so():
    at = corpus_page()
    at.number_input(key="corpus_min").set_value(1999)
    at.button(key="FormSubmitter:corpus_form-Apply filters").click().run()
    assert not at.exception
    assert metrics(at)["Melodies selected"] == "0"
    assert "No melody passes" in at.warning[0].value


def test_piece_browser_switches_piece():
    at = corpus_page()
    first_midi = at.get("download_button")[0].proto.url
    piece = at.selectbox(key="piece")
    piece.set_value(piece.options[5]).run()
    assert not at.exception
    assert at.get("download_button")[0].proto.url != first_midi


def test_filters_explain_themselves():
    at = corpus_page()
    assert "every measure" in at.multiselect(key="corpus_ts").help
    assert "part" in at.selectbox(key="corpus_voice").help
    assert "left out" in at.number_input(key="corpus_min").help
    assert "factored" in at.selectbox(key="corpus_tokenizer").help


def test_filters_and_the_chosen_piece_survive_a_page_switch():
    with widget_value_warnings() as warned:
        at = corpus_page()
        filters = {"corpus_ts": ["3/4", "4/4"], "corpus_voice": "alto", "corpus_min": 20, "corpus_max": 90}
        at.multiselect(key="corpus_ts").set_value(filters["corpus_ts"])
        at.selectbox(key="corpus_voice").set_value(filters["corpus_voice"])
        at.number_input(key="corpus_min").set_value(filters["corpus_min"])
        at.number_input(key="corpus_max").set_value(filters["corpus_max"])
        at.selectbox(key="corpus_tokenizer").set_value("factored")
        at.button(key="FormSubmitter:corpus_form-Apply filters").click().run()
        chosen = at.selectbox(key="piece").options[3]
        at.selectbox(key="piece").set_value(chosen).run()
        before = metrics(at)
        assert not at.exception and before["Melodies selected"] != "359"

        at = leave_and_return(at, "app_pages/corpus.py", other="app_pages/sampling.py")
        assert not at.exception
        assert at.multiselect(key="corpus_ts").value == filters["corpus_ts"]
        assert at.selectbox(key="corpus_voice").value == "alto"
        assert at.number_input(key="corpus_min").value == 20 and at.number_input(key="corpus_max").value == 90
        assert at.selectbox(key="corpus_tokenizer").value == "factored"
        assert at.selectbox(key="piece").value == chosen
        assert metrics(at) == before  # the figures are those of the kept filters
    assert not warned


def test_tune_groups_are_listed_with_the_melodic_leaks_joined():
    at = corpus_page()
    assert not at.exception
    groups = next(d.value for d in at.dataframe if "closest" in d.value.columns)
    herzlich = groups[groups.pieces.str.contains("bwv149.7")]
    assert len(herzlich) == 1 and "bwv174.5" in herzlich.pieces.iloc[0]
    assert any("Training, validation and test never share a tune" in c.value for c in at.caption)


def test_keys_and_notes_are_named_the_german_way_on_a_german_page():
    import pyarrow as pa

    from tests.app.helpers import new_app

    at = new_app(lang="de")
    at.run()
    at.switch_page("app_pages/corpus.py").run()
    assert not at.exception, at.exception
    rows = [
        row
        for chart in at.get("vega_lite_chart")  # each chart's data travels as Arrow tables
        for data in chart.proto.datasets
        for row in pa.ipc.open_stream(data.data.data).read_all().to_pylist()
    ]
    keys = {r["key"] for r in rows if "key" in r and "n_pieces" in r}
    assert {"F-Dur", "B-Dur", "Es-Dur", "e-Moll", "h-Moll"} <= keys  # B-Dur is B-flat major; h-Moll B minor
    assert not any("-" in k.split("-")[0][1:] for k in keys)  # no music21 spelling such as "B- major"
    classes = {r["name"] for r in rows if "name" in r and "share" in r}
    assert {"B", "H", "Fis", "Es"} <= classes and not classes & {"B-", "F#", "E-"}
    caption = next(c.value for c in at.caption if c.value.startswith("bwv"))
    assert caption.endswith(("-Dur", "-Moll")), caption
