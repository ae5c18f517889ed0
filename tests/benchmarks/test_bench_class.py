"""The class benchmark's pure parts: its report and the browsers' lower-priority launcher."""

import os
import subprocess
from pathlib import Path

import pytest

from benchmarks import classroom


def test_niced_launcher_runs_chromium_at_the_given_priority(tmp_path):
    assert classroom._niced_chromium(tmp_path, 0) == str(classroom.CHROMIUM)
    launcher = classroom._niced_chromium(tmp_path, 7)
    assert os.access(launcher, os.X_OK)
    # The launcher execs `nice -n 7 <chromium> args...`; with `nice` standing in for chromium the
    # niceness it reports is the one chromium would get. Run in a session of its own, as Playwright
    # starts the browser, so lowering the session's scheduling group leaves this test's alone.
    text = Path(launcher).read_text()
    probe = tmp_path / "probe"
    probe.write_text(text.replace(str(classroom.CHROMIUM), "nice"))
    probe.chmod(0o755)
    shown = subprocess.run([str(probe)], capture_output=True, text=True, check=True, start_new_session=True)
    assert int(shown.stdout.strip()) == min(os.nice(0) + 7, 19)  # the kernel caps niceness at 19
    if Path("/proc/self/autogroup").exists():  # Linux with autogroup scheduling
        group = tmp_path / "group"
        group.write_text(text.replace(f'{classroom.CHROMIUM} "$@"', "cat /proc/self/autogroup"))
        group.chmod(0o755)
        shown = subprocess.run(
            [str(group)], capture_output=True, text=True, check=True, start_new_session=True
        )
        assert shown.stdout.strip().endswith("nice 7")


def test_report_names_the_browsers_priority_and_every_target():
    per = {"sessions": 4, "open_sampling_s": 2.0, "columns_s_median": 1.5, "columns_s_max": 2.5,
           "page_done_s_median": 3.0, "server_cpu_s_per_generate": 0.21, "server_cpu_s_first_generate": 0.27,
           "bytes_per_generate": 61000,
           "rss_mb_open_per_session": 4.0, "rss_mb_per_session": 3.5}  # fmt: skip
    run = {
        "steps_per_s": 20.0,
        "run_s": 30.0,
        "generate_s": [0.8],
        "server_cpu_s": 30.0,
        "kb_sent_per_s": 8.0,
    }
    figures = {
        "machine": "x86_64, 2 CPUs", "browser_nice": 10, "per_sessions": {"4": per}, "watchers": 10,
        "generate_every_s": 10.0, "train_alone": run, "train_watched": {**run, "steps_per_s": 17.0},
        "train_speed_ratio": 0.85, "class_of_30_minutes": 15.0, "generate_while_training_s_median": 0.8,
        "listen_all_four": {"bytes": 300000, "server_cpu_s": 0.5}, "synth": "organ",
        "rss_mb_start": 400.0, "rss_mb_end": 420.0, "targets": classroom.TARGETS,
    }  # fmt: skip
    report = classroom.format_report(figures)
    assert "watching pages at nice 10" in report
    assert "0.270 / 0.210" in report and "61.0" in report  # server CPU (1st / 2nd click) and KB per Generate
    assert "the 2nd click is what every later Generate costs: target <= 0.25 s" in report
    assert "ratio 0.85" in report and "15.0 min" in report and "Generate every 10 s" in report
    assert "Sampling opened with the page's defaults" in report
    query = "model=bach&cadence=0&length=100"
    assert f"Sampling opened at ?{query}" in classroom.format_report({**figures, "sampling_query": query})
    with pytest.raises(KeyError):
        classroom.format_report({k: v for k, v in figures.items() if k != "listen_all_four"})


def test_the_class_opens_sampling_at_a_link_when_asked_and_the_query_reaches_the_benchmark(monkeypatch):
    from benchmarks.__main__ import main

    assert classroom.sampling_path() == "sampling"
    assert classroom.sampling_path("model=bach&cadence=0") == "sampling?model=bach&cadence=0"
    seen = {}
    monkeypatch.setattr(classroom, "run", lambda **options: seen.update(options) or {"x": 1})
    monkeypatch.setattr(classroom, "format_report", lambda figures: "")
    main(["class", "--sessions", "1,4", "--query", "model=bach&cadence=0"])
    assert seen == {"sessions": (1, 4), "watchers": None, "query": "model=bach&cadence=0"}


def test_a_class_starting_together_has_names_whose_run_names_collide_in_pairs():
    from bachlstm.classroom.students import default_run_name

    names = classroom.student_names(5)
    assert names == ["Zoe 1", "Zoë 1", "Zoe 2", "Zoë 2", "Zoe 3"]
    assert len(set(names)) == 5  # five students
    offered = [default_run_name(n, "workshop") for n in names]
    assert offered == ["zoe-1-workshop-1"] * 2 + ["zoe-2-workshop-1"] * 2 + ["zoe-3-workshop-1"]


@pytest.mark.parametrize(
    ("shown", "seconds"),
    [("42 s", 42.0), ("3 min 05 s", 185.0), ("1 h 02 min", 3720.0), ("?", None)],
)
def test_the_wait_the_page_shows_is_read_back_in_seconds(shown, seconds):
    from app_pages.texts import format_seconds

    assert classroom.parse_duration(shown) == seconds
    if seconds is not None:
        assert classroom.parse_duration(format_seconds(seconds)) == seconds


def test_the_class_start_report_tells_a_lost_run_from_one_that_ended_during_its_reload():
    start = {"students": 12, "start_clicks_within_s": 1.5, "accepted": 12, "refused": 0, "name_collisions": 0,
             "names_moved_on": 6, "second_start_offers_to_stop": 12, "orphaned_slots": 0,
             "reattached_after_reload": 7, "reloads_while_queued_or_training": 8,
             "runs_ended_during_reload": 1, "not_reattached": [("zoe-2-workshop-1", "done")],
             "wait_estimate_error": 0.16, "wait_estimate_bias": -0.1, "waits_measured": 10,
             "wait_estimate_error_after_reload": 0.12, "waits_not_started_in_time": 0, "reload_all_s": 9.5,
             "wait_estimate_error_quiet": 0.21, "wait_estimate_bias_quiet": 0.05,
             "waits_read_quiet": 9}  # fmt: skip
    figures = {"machine": "x86_64, 2 CPUs", "browser_nice": 10, "class_start": start,
               "targets": classroom.STUDENT_TARGETS}  # fmt: skip
    report = classroom.format_students_report(figures)
    assert "reattached after reload: 7 of 8 reloads while queued or training, all at once" in report
    assert "(9.5 s until every page was drawn again; 1 of the others ended during their reload: " in report
    assert "[('zoe-2-workshop-1', 'done')])" in report
    assert "median relative error 0.21 (bias 0.05) over 9 queued runs" in report
    assert "done" in classroom.FINAL_STATES and "running" not in classroom.FINAL_STATES


def test_wait_estimate_errors_are_relative_to_the_real_wait_and_skip_runs_without_both():
    estimates = {"a": 60.0, "b": 30.0, "c": None, "d": 10.0}
    waits = {"a": 40.0, "b": 60.0, "c": 20.0, "e": 5.0, "d": 0.0}  # d started at once: no relative error
    assert classroom._relative_errors(estimates, waits) == [0.5, -0.5]


def test_one_by_one_reaches_the_class_start_and_its_report_names_the_quiet_figures(monkeypatch):
    from benchmarks.__main__ import main

    seen = {}
    quiet = {"students": 8, "accepted": 8, "waits_read_quiet": 7, "waits_not_started_in_time": 0,
             "wait_estimate_error_quiet": 0.12, "wait_estimate_bias_quiet": -0.04,
             "wait_estimate_error_quiet_max": 0.31,
             "waits_s": {"zoe-2-workshop-1": [31.0, 29.5]}}  # fmt: skip
    figures = {"machine": "x86_64, 2 CPUs", "browser_nice": 10, "quiet_queue": quiet,
               "targets": classroom.STUDENT_TARGETS}  # fmt: skip
    monkeypatch.setattr(classroom, "run_students", lambda n, **options: seen.update(options, n=n) or figures)
    main(["class", "--students", "8", "--one-by-one", "--max-steps", "100"])
    assert seen["one_by_one"] is True and seen["n"] == 8 and seen["max_steps"] == 100
    report = classroom.format_students_report(figures)
    assert "8 students press Start one after another" in report
    assert "median relative error 0.12 (bias -0.04, largest 0.31) over 7 queued runs" in report
    main(["class", "--students", "3"])
    assert seen["one_by_one"] is False
