"""`python -m bachlstm listening [--json]`: the class's "Bach or model?" results from the class's records."""

from __future__ import annotations

import json
import sys


def add_parser(sub) -> None:
    """Register `listening`."""
    p = sub.add_parser(
        "listening",
        help="the class's 'Bach or model?' results: per model and method, the share of rounds in which "
        "listeners took the model's excerpt for Bach, with a Wilson 95%% interval",
    )
    p.add_argument(
        "--database", help="the class's database file (default: BACHLSTM_CLASS_DB, else runs/class.sqlite3)"
    )
    p.add_argument("--json", action="store_true", help="print the table as JSON ({'results': [...]})")
    p.set_defaults(func=run)


def run(args) -> int:
    """Read the answered rounds and print the results table."""
    from bachlstm.classroom.listening import listening_results, student_scores
    from bachlstm.classroom.records import ClassRecords, RecordsError

    try:
        rounds = ClassRecords(args.database).answered_rounds()
    except RecordsError as exc:
        print(f"error: the class's records cannot be read ({exc.code}: {exc.values})", file=sys.stderr)
        return 1
    results = listening_results(rounds)
    if args.json:
        print(json.dumps({"results": [r.to_dict() for r in results]}, indent=2))
        return 0
    if not results:
        print("No answered rounds yet.")
        return 0
    print(f"{'model':<20} {'method':<12} {'answers':>7}  taken for Bach (95% interval)")
    for r in results:
        print(
            f"{r.model:<20} {r.method:<12} {r.answers:>7}  {r.taken_for_bach:6.1%} "
            f"({r.low:.1%} to {r.high:.1%})"
        )
    scores = student_scores(rounds)
    print(
        f"\n{len(scores)} listeners; Bach found in {sum(s.correct for s in scores)} of {len(rounds)} rounds"
    )
    return 0
