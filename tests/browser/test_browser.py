"""The dashboard in a real Chromium: every page renders, a tiny training completes, generated MIDI downloads.

Screenshots of each page go to a temporary folder; with BACHLSTM_SCREENSHOTS=1 they replace the ones in
docs/screenshots/ (the README's pictures).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from tests.browser.helpers import (
    ROOT,
    assert_no_exception,
    by_key,
    chromium_page,
    click_nav,
    need_browser,
    open_page,
    screenshot_full,
    streamlit_server,
    wait_drawn,
    wait_ready,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = [  # streamlit_app.py's navigation, in its order
    ("Home", ""),
    ("Lesson path", "lesson"),
    ("Corpus", "corpus"),
    ("Training", "training"),
    ("Sampling", "sampling"),
    ("Inside the model", "inside"),
    ("Class board", "board"),
    ("Bach or model?", "listening"),
    ("Glossary", "glossary"),
    ("Teacher", "teacher"),
]


@pytest.fixture(scope="module")
def browser_ok():
    need_browser()


@pytest.fixture(scope="module")
def server(browser_ok, tmp_path_factory):
    """`streamlit run` with its own runs folder holding one tiny model, so Sampling works without others."""
    from bachlstm.training.loop import train
    from bachlstm.training.presets import get_preset

    runs = tmp_path_factory.mktemp("browser-runs")
    preset = get_preset("bach", epochs=1, max_melodies=24, max_steps=4, num_threads=1)
    train(preset, out=runs / "fixture-tiny.safetensors")
    with streamlit_server(env={"BACHLSTM_RUNS_DIR": str(runs)}) as url:
        yield url, runs


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    if os.environ.get("BACHLSTM_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


def file_slug(title: str) -> str:
    """A page title as a file name every system takes: 'Bach or model?' -> 'bach-or-model'."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


@pytest.fixture
def page(server):
    with chromium_page() as p:
        yield p


def test_every_page_renders_without_exception(server, page, shots):
    url, _ = server
    # A page URL as the server's very first request (a reloaded tab after a restart) must still get the
    # app's navigation: four pages, no helper modules listed as pages.
    for title, path in reversed(PAGES):
        open_page(page, url, path)
        nav = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        assert [t.split("\n")[-1].strip() for t in nav] == [t for t, _ in PAGES], nav  # icon name first
        assert_no_exception(page, title)
        assert page.locator('[data-testid="stMain"]').inner_text().strip(), f"{title} is empty"
        screenshot_full(page, str(shots / f"{file_slug(title)}.png"))
    # the sidebar navigation keeps the session and reaches every page too
    for title, _ in PAGES:
        click_nav(page, title)
        assert_no_exception(page, f"{title} (via the sidebar)")


def test_tiny_training_runs_to_completion(server, page, shots):
    url, runs = server
    open_page(page, url, "training")
    for key, value in (
        ("train_epochs", "1"),
        ("train_max_melodies", "12"),
        ("train_max_steps", "3"),
        ("train_run_name", "browser-tiny"),
    ):
        box = by_key(page, key, "input")
        box.fill(value)
        box.press("Tab")
    by_key(page, "train_start", "button").click()
    # the fragment redraws once a second while the worker trains; wait for the final message
    page.get_by_text("saved as browser-tiny", exact=False).wait_for(timeout=120_000)
    wait_ready(page)
    assert_no_exception(page, "Training after the run")
    assert (runs / "browser-tiny.safetensors").is_file()
    screenshot_full(page, str(shots / "training.png"))  # with the finished run's chart


def test_generate_and_download_midi(server, page, shots):
    import pretty_midi

    url, _ = server
    open_page(page, url, "sampling")
    by_key(page, "generate", "button").click()
    buttons = [by_key(page, f"midi_{i}", "button") for i in range(4)]
    buttons[3].wait_for(timeout=120_000)  # each of the four columns offers a MIDI download
    wait_ready(page, timeout=120)
    assert_no_exception(page, "Sampling after Generate")
    assert page.locator('[data-testid="stAudio"]').count() == 0  # audio is made when asked for
    by_key(page, "listen_0", "button").click()
    player = page.locator('[data-testid="stAudio"]')
    player.wait_for(timeout=60_000)
    assert player.count() == 1 and not page.locator(".st-key-listen_0").count()
    assert page.locator("audio").evaluate("a => a.src").endswith(".oga")  # OGG, not a WAV
    screenshot_full(page, str(shots / "sampling.png"))  # with the four columns
    notes = []
    for i in range(4):  # an untrained model may write only rests in one column, not in all four
        with page.expect_download() as info:
            buttons[i].click()
        data = Path(info.value.path()).read_bytes()
        midi = pretty_midi.PrettyMIDI(io.BytesIO(data))  # raises on a file that is not MIDI
        notes.append(sum(len(inst.notes) for inst in midi.instruments))
    assert max(notes) > 0, notes


def test_inside_the_model_draws_every_tab(server, page, shots):
    url, _ = server
    open_page(page, url, "inside")  # the shipped workshop model on a held-out chorale
    page.get_by_text("bits per note").first.wait_for(timeout=30_000)  # the Surprise tab opens first
    for tab in ("What units track", "Embedding", "Gates and states"):
        page.get_by_role("tab", name=tab).click()
        wait_ready(page)
        assert_no_exception(page, f"Inside the model, tab {tab}")
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        charts.first.wait_for(timeout=30_000)  # only the open tab is drawn
    assert charts.count() == 3  # the piano roll, the heatmap under it, one unit's trace
    screenshot_full(page, str(shots / "inside-the-model.png"))


def test_a_downloaded_midi_keeps_the_primers_pickup_and_settings_survive_a_page_switch(server, page):
    """Continue a held-out chorale that opens with a pickup; the MIDI's first bar is that pickup."""
    import mido

    from app_pages.texts import melody_label
    from bachlstm.generation.primer import primer_from_melody
    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.music.midi import read_midi
    from bachlstm.music.scores import infer_pickup
    from bachlstm.training.splits import split_melodies

    heldout = split_melodies(load_checkpoint("bach").meta)["test"]  # the page's list of chorales
    # not the first chorale, which the page offers anyway: the choice must be kept to be seen again
    melody = next(m for m in heldout[1:] if infer_pickup(primer_from_melody(m, bars=2)) > 0)
    pickup = infer_pickup(primer_from_melody(melody, bars=2))
    url, _ = server
    open_page(page, url, "sampling")  # the shipped bach model is the default
    by_key(page, "primer_source").get_by_text("opening of a held-out chorale").click()
    wait_ready(page, timeout=120)
    choose = by_key(page, "primer_piece", "input")
    choose.click()
    choose.fill(melody_label(melody))
    choose.press("Enter")
    by_key(page, "seed", "input").fill("5")
    by_key(page, "generate", "button").click()
    button = by_key(page, "midi_0", "button")
    button.wait_for(timeout=120_000)
    wait_ready(page, timeout=120)
    assert_no_exception(page, "Sampling after Generate with a chorale primer")
    with page.expect_download() as info:
        button.click()
    data = Path(info.value.path()).read_bytes()

    reading = read_midi(data)
    assert reading.downbeat == pickup and reading.bar_quarters == 4.0
    midi = mido.MidiFile(file=io.BytesIO(data))
    signatures = [(m.time, m.numerator, m.denominator) for m in midi.tracks[0] if m.type == "time_signature"]
    ticks = round(pickup * midi.ticks_per_beat)
    assert signatures[0][0] == 0 and signatures[0][1] / signatures[0][2] * 4 == pickup  # the short bar
    assert signatures[1] == (ticks, 4, 4)  # then 4/4 from the first downbeat (delta time from tick 0)
    assert min(n.start for n in reading.notes) == 0.0  # the pickup note opens the file

    click_nav(page, "Corpus")
    click_nav(page, "Sampling")
    assert_no_exception(page, "Sampling after a page switch")
    source = by_key(page, "primer_source").get_by_role("radio", name="opening of a held-out chorale")
    assert source.is_checked()
    piece = by_key(page, "primer_piece")
    assert melody_label(melody) in piece.inner_text() + piece.locator("input").input_value()
    assert by_key(page, "seed", "input").input_value() == "5"
    assert page.get_by_text("were made with").count() == 0  # the result is that of these settings
    assert by_key(page, "midi_0", "button").is_visible()


def test_the_run_list_shows_what_the_saved_file_holds_after_it_changed(server, page):
    """A run listed while it trained ("interrupted at epoch 5") and saved again after Stop ("stopped at
    epoch 7") must be shown as stopped at epoch 7: the browser kept the label it first drew for a chosen
    option, so a state inside the option's label stayed stale on screen."""
    from bachlstm.model.checkpoints import load_checkpoint, read_meta, save_checkpoint

    url, runs = server
    path = runs / "browser-halfway.safetensors"
    ck, meta = load_checkpoint("workshop"), read_meta("workshop")
    save_checkpoint(path, ck.model, ck.tokenizer, {**meta, "complete": False, "stopped": False, "epoch": 5})

    def shown() -> str:  # what the student reads: the page's text and the text inside the select box
        resume = by_key(page, "resume_name")
        return page.locator('[data-testid="stMain"]').inner_text() + resume.locator("input").input_value()

    try:
        open_page(page, url, "training")
        assert "interrupted at epoch 5 of 45" in shown()
        save_checkpoint(path, ck.model, ck.tokenizer, {**meta, "complete": True, "stopped": True, "epoch": 7})
        by_key(page, "train_estimate", "button").click()  # any rerun of the page
        wait_ready(page)
        page.wait_for_timeout(500)
        assert "stopped at epoch 7 of 45" in shown()
        assert "interrupted" not in shown()
    finally:
        path.unlink(missing_ok=True)


def test_the_embedding_legend_shows_every_colour_in_a_wide_and_a_narrow_window(server):
    """The new-user trial: a legend under each of the three views was cut off after four entries."""
    from app_pages.i18n import using
    from app_pages.messages import token_type_words
    from bachlstm.analysis.embeddings import embedding_view
    from bachlstm.model.checkpoints import load_checkpoint

    ck = load_checkpoint("workshop")  # the page's default model
    with using("en"):  # the legend names each type in words ("start (BOS)"), in the page's language
        types = {token_type_words(t) for t in embedding_view(ck.model, ck.tokenizer).frame.type.astype(str)}
    url, _ = server
    for width in (1400, 420):
        with chromium_page(width=width) as page:
            open_page(page, url, "inside")
            page.get_by_text("bits per note").first.wait_for(timeout=30_000)
            page.get_by_role("tab", name="Embedding").click()
            wait_ready(page)
            wait_drawn(page)  # charts draw after the script has finished
            shown = set()
            for chart in page.locator('[data-testid="stVegaLiteChart"]').all():
                box = chart.bounding_box()
                for text in chart.locator(".role-legend text, .role-mark text").all():  # legends, not axes
                    t = text.bounding_box()
                    inside = box["x"] - 1 <= t["x"] and t["x"] + t["width"] <= box["x"] + box["width"] + 1
                    inside = (
                        inside
                        and box["y"] - 1 <= t["y"]
                        and t["y"] + t["height"] <= box["y"] + box["height"] + 1
                    )
                    assert inside, (width, text.text_content(), t, box)  # never cut off at the chart's edge
                    shown.add(text.text_content())
            assert types <= shown, (width, types - shown)  # every token type is named
