"""The browser plumbing shared by the benchmarks and the browser tests: addresses, options, the server."""

import os
import sys
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


def test_a_server_that_prints_a_lot_never_blocks_on_its_output():
    # 300 KB of output: into an unread pipe (64 KB) the child would block and never exit
    code = "import sys\nfor i in range(3000): print('x' * 99)\nprint('done', file=sys.stderr)"
    proc, log = browser.start_logged([sys.executable, "-c", code])
    try:
        assert proc.wait(timeout=60) == 0
        text = log.read_text()
        assert len(text) == 3000 * 100 + 5 and text.endswith("done\n")
    finally:
        log.unlink()


def test_a_server_that_dies_is_reported_with_its_output():
    proc, log = browser.start_logged([sys.executable, "-c", "raise SystemExit('no such page')"])
    try:
        with pytest.raises(RuntimeError, match="exited with 1:\nno such page"):
            browser.wait_healthy("http://127.0.0.1:9", proc, timeout=30, log=log)
    finally:
        log.unlink()
