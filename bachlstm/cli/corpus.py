"""`python -m bachlstm corpus build|stats`: rebuild our corpus cache, or print corpus figures."""

from __future__ import annotations

import json
import sys
import time

PRESETS = ("default", "original", "all_voices")


def add_parser(sub) -> None:
    """Register `corpus build` and `corpus stats`."""
    p = sub.add_parser("corpus", help="build the corpus cache or print corpus statistics")
    csub = p.add_subparsers(dest="corpus_command", required=True)
    b = csub.add_parser("build", help="re-extract all Bach scores from music21 into our cache (~1 min)")
    b.add_argument("--path", default=None, help="cache file to write (default: the shipped one)")
    b.set_defaults(func=build)
    s = csub.add_parser("stats", help="print corpus figures")
    s.add_argument("--json", action="store_true", help="print the figures as JSON")
    s.add_argument(
        "--preset", choices=PRESETS, default="default", help="selection preset (default: 4/4 sopranos)"
    )
    s.add_argument("--path", default=None, help="cache file to read (default: the shipped one)")
    s.set_defaults(func=stats)


class ProgressBar:
    """A one-line progress bar on stderr (a `progress(done, total, message)` callback).

    Redraws in place on a terminal; elsewhere (logs, CI) writes a plain line every 10 %.
    """

    def __init__(self, width: int = 30, stream=None) -> None:
        self.width = width
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last = -1

    def __call__(self, done: int, total: int, message: str) -> None:
        percent = 100 * done // total if total else 100
        step = percent if self.tty else percent // 10 * 10
        if step == self.last and done < total:
            return
        self.last = step
        filled = self.width * percent // 100
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"[{bar}] {done}/{total} {message[:30]}"
        if self.tty:
            end = "\n" if done >= total else ""
            print(f"\r{line:<80}", end=end, file=self.stream, flush=True)
        else:
            print(line, file=self.stream, flush=True)


def build(args) -> int:
    """Extract the corpus from music21 and write the cache atomically."""
    from bachlstm.corpus.cache import DEFAULT_CACHE_PATH, save_corpus
    from bachlstm.corpus.extraction import build_corpus

    t0 = time.perf_counter()
    corpus = build_corpus(progress=ProgressBar())
    path = save_corpus(corpus, args.path or DEFAULT_CACHE_PATH)
    size = path.stat().st_size
    print(
        f"extracted {len(corpus)} of {corpus.n_score_files} score files in {time.perf_counter() - t0:.1f} s "
        f"-> {path} ({size / 1024:.0f} KiB; extractor v{corpus.extractor_version}, "
        f"music21 {corpus.music21_version})"
    )
    if corpus.failed:
        print(f"could not extract: {', '.join(corpus.failed)}")
        return 1
    return 0


def corpus_figures(path=None, preset: str = "default") -> dict:
    """The figures `corpus stats` prints, as a JSON-safe dict."""
    from bachlstm.corpus.cache import load_corpus
    from bachlstm.corpus.selection import SelectionConfig, select
    from bachlstm.corpus.stats import flag_counts, time_signature_counts
    from bachlstm.tokens.tokenizers import build_tokenizer

    corpus = load_corpus(path, progress=ProgressBar())
    config = SelectionConfig.preset(preset)
    selection = select(corpus, config)
    ts = time_signature_counts(corpus)
    flags = flag_counts(corpus)
    summary = selection.summary()
    lengths = [len(m) for m in selection.melodies]
    return {
        "n_scores": corpus.n_score_files,
        "n_pieces": len(corpus),
        "failed": list(corpus.failed),
        "music21_version": corpus.music21_version,
        "extractor_version": corpus.extractor_version,
        "time_signatures": dict(zip(ts["time_signatures"], ts["n_pieces"].tolist())),
        "four_four_four_parts": int(ts.loc[ts["time_signatures"] == "4/4", "n_four_parts"].sum()),
        "flags": dict(zip(flags["flag"], flags["n_pieces"].tolist())),
        "selection": {"preset": preset, **config.to_dict()},
        "n_selected": len(selection.melodies),
        "excluded": {r: int(c) for r, c in zip(summary["reason"], summary["count"]) if r != "selected"},
        "n_tunes": len({m.tune for m in selection.melodies}),
        "events_min_median_max": [min(lengths), sorted(lengths)[len(lengths) // 2], max(lengths)]
        if lengths
        else [],
        "vocab_size": {
            name: len(build_tokenizer(name, selection.melodies).vocab) for name in ("factored", "event")
        },
    }


def stats(args) -> int:
    """Print corpus figures as text or JSON."""
    figures = corpus_figures(args.path, args.preset)
    if args.json:
        print(json.dumps(figures, indent=2, ensure_ascii=False))
        return 0
    print(
        f"score files: {figures['n_scores']} (extracted {figures['n_pieces']}), "
        f"music21 {figures['music21_version']}"
    )
    print(
        "time signatures (pieces): " + ", ".join(f"{k}: {v}" for k, v in figures["time_signatures"].items())
    )
    print(f"4/4 throughout with exactly four parts: {figures['four_four_four_parts']}")
    print("flags (pieces): " + (", ".join(f"{k}: {v}" for k, v in figures["flags"].items()) or "none"))
    print(
        f"selection '{figures['selection']['preset']}': {figures['n_selected']} melodies, "
        f"{figures['n_tunes']} tunes"
    )
    print("excluded: " + (", ".join(f"{k}: {v}" for k, v in figures["excluded"].items()) or "nothing"))
    print("events per melody (min/median/max): " + "/".join(map(str, figures["events_min_median_max"])))
    print("vocabulary size: " + ", ".join(f"{k}: {v}" for k, v in figures["vocab_size"].items()))
    return 0
