"""The listening benchmark's options and report (the run itself needs 30 browsers: the lead runs it)."""

from benchmarks import listening
from benchmarks.__main__ import build_parser


def test_the_class_answers_at_once_unless_a_spread_is_asked_for():
    assert build_parser().parse_args(["listening"]).spread == 0.0
    args = build_parser().parse_args(["listening", "--sessions", "30", "--spread", "20"])
    assert (max(args.sessions), args.spread) == (30, 20.0)


def test_the_report_says_within_how_many_seconds_the_students_clicked():
    figures = {
        "sessions": 30, "rounds": 5, "spread_s": 20.0, "model": "bach", "methods": ["top-k"], "bars": 4,
        "machine": "x86_64, 2 CPUs", "pools_prepare_s": 5.6, "answers_given": 150, "answers_stored": 150,
        "lost": 0, "duplicates": 0, "next_round_s_median": 1.5, "next_round_s_max": 4.0,
        "answer_drawn_s_median": 0.7, "question_drawn_s_median": 0.8, "server_cpu_s_per_round": 0.08,
        "bytes_per_round": 95261, "browser_cpu_s_per_round": 0.46, "load_average_1min": 3.1,
    }  # fmt: skip
    report = listening.format_report(figures)
    assert report.splitlines()[0] == (
        "listening: 30 sessions x 5 rounds, clicks within 20.0 s (bach: top-k; 4 bars) on x86_64, 2 CPUs"
    )
    assert "lost 0, duplicates 0" in report and "bytes per round 95,261" in report
    assert "browser CPU per round 0.46 s" in report
