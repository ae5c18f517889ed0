"""Two students in two Chromium contexts on one server: names of their own, one trains while the other
waits with an estimate, the address carries the run from Start, and a reload during training finds it."""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import (
    assert_no_exception,
    by_key,
    chromium,
    need_browser,
    new_page,
    open_page,
    streamlit_server,
    wait_ready,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def fill(page, **values: str) -> None:
    for key, value in values.items():
        box = by_key(page, f"train_{key}", "input")
        box.fill(value)
        box.press("Tab")


def test_two_students_train_and_a_reload_during_training_finds_the_run(tmp_path):
    need_browser()
    with streamlit_server(env={"BACHLSTM_RUNS_DIR": str(tmp_path)}) as url, chromium() as browser:
        anna, ben = new_page(browser), new_page(browser)  # two contexts: two students' laptops
        open_page(anna, url, "training", student="Anna")
        open_page(ben, url, "training", student="Ben")
        from playwright.sync_api import expect  # retries while a page redraws (the language picker's rerun)

        expect(by_key(anna, "train_run_name", "input")).to_have_value("anna-workshop-1")
        expect(by_key(ben, "train_run_name", "input")).to_have_value("ben-workshop-1")

        fill(anna, epochs="50", max_melodies="30")  # trains until stopped
        by_key(anna, "train_start", "button").click()
        anna.wait_for_url(re.compile(r"[?&]run=anna-workshop-1"), timeout=20_000)  # while it trains
        assert "student=Anna" in anna.url

        fill(ben, epochs="1", max_melodies="12", max_steps="2")
        by_key(ben, "train_start", "button").click()
        ben.get_by_text(re.compile(r"number 1 in the queue, about .+ to wait")).first.wait_for(timeout=60_000)

        anna.locator('[data-testid="stProgress"]').wait_for(timeout=120_000)  # training, not preparing
        anna.reload()
        wait_ready(anna, 60)
        anna.get_by_text("Run anna-workshop-1", exact=False).first.wait_for(timeout=30_000)
        anna.locator('[data-testid="stProgress"]').wait_for(timeout=30_000)  # progress after the reload
        stop = by_key(anna, "train_stop", "button")
        assert stop.is_enabled()
        assert "run=anna-workshop-1" in anna.url and "student=Anna" in anna.url
        stop.click()

        # The slot Anna freed goes to Ben's queued run, which finishes; Ben's page says so by itself.
        ben.get_by_text("saved as ben-workshop-1", exact=False).wait_for(timeout=180_000)
        wait_ready(ben)
        assert_no_exception(ben, "Training after the queued run")
        assert_no_exception(anna, "Training after Stop")
        assert (tmp_path / "ben-workshop-1.safetensors").is_file()
