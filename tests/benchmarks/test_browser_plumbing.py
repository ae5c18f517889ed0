"""The browser plumbing shared by the benchmarks and the browser tests: addresses, options, the server."""

import os
import urllib.request

import pytest

from benchmarks import browser


def test_a_page_is_opened_as_a_student_by_its_address():
    assert browser.student_url("http://127.0.0.1:8501") == "http://127.0.0.1:8501/?student=Browser+test"
    assert (
        browser.student_url("http://h:1", "sampling", "Jürgen O.")
        == "http://h:1/sampling?student=J%C3%BCrgen+O."
    )
    assert (
        browser.student_url("http://h:1", "inside?lang=de", "Ben") == "http://h:1/inside?lang=de&student=Ben"
    )
    assert browser.student_url("http://h:1", "corpus", None) == "http://h:1/corpus"


def test_chromium_is_debians_headless_one_and_each_context_a_desktop_window():
    assert browser.launch_options() == {
        "executable_path": "/usr/bin/chromium",
        "args": browser.CHROMIUM_ARGS,
        "headless": True,
    }
    assert browser.launch_options("/tmp/niced")["executable_path"] == "/tmp/niced"
    window = {"viewport": {"width": 800, "height": 600}, "accept_downloads": True}
    assert browser.context_options(800, 600) == window


@pytest.mark.slow
def test_the_server_answers_on_127_0_0_1_and_is_gone_after():
    with browser.streamlit_server(timeout=120) as url:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as resp:
            assert resp.status == 200
        pid = browser.server_pid(url)
        assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
