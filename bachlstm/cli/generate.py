"""`python -m bachlstm generate ...` (one melody to MIDI/MusicXML/JSON) and `compare` (the four methods
side by side with a metrics table, the Bach reference row and the Sampling page's warnings), both
through `bachlstm.reports.comparison`. Library imports sit inside the command functions: torch takes
seconds to import and `--help` stays instant."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict
from pathlib import Path

from bachlstm.cli import args as args_types


def _knobs(p, *, method: bool) -> None:
    if method:  # checked by compare.method_config, which names the methods (sampling.METHODS)
        p.add_argument(
            "--method", default="top-p", help="greedy, top-k, top-p or temperature (default top-p)"
        )
    p.add_argument("--k", type=int, default=8, help="top-k: tokens kept (default 8)")
    p.add_argument("--p", type=float, default=0.9, help="top-p: probability mass kept (default 0.9)")
    p.add_argument(
        "--temperature", type=float, default=1.0, help="> 0, for every stochastic method (default 1)"
    )
    p.add_argument("--min-p", type=float, default=0.0, help="also cut tokens below MIN_P x top prob")
    p.add_argument("--typical-p", type=float, default=1.0, help="also apply typical sampling (< 1)")
    p.add_argument("--repetition-penalty", type=float, default=1.0, help="> 1 discourages repeats")
    p.add_argument("--no-repeat-ngram", type=int, default=0, help="forbid repeating n-grams of tokens")


def _common(p) -> None:
    p.add_argument(
        "--checkpoint", required=True, help="shipped name (workshop, bach, chorale), run name or path"
    )
    p.add_argument(
        "--notes",
        dest="max_notes",  # generate()'s name, so its problems name this option
        type=int,
        default=None,
        metavar="N",
        help="most notes per melody: a melody that would go on is cut there and says so (default: "
        "only the token limit)",
    )
    p.add_argument("--length", type=int, default=256, help="most tokens to generate (default 256)")
    p.add_argument(
        "--cadence",
        action="store_true",
        help="end a melody only where it closes as a chorale does: on the tonic of its key, begun on "
        "beat 1 or 3 (a grammar option)",
    )
    p.add_argument(
        "--close-after",
        type=int,
        default=None,
        metavar="N",
        help="with --cadence: once a melody has N notes, it ends at its next closing point",
    )
    p.add_argument(
        "--min-length",
        type=int,
        default=None,
        metavar="N",
        help="notes the melody must have after the primer before it may end, like min_new_tokens of "
        "text generators but in notes; 0 = off (default 8, at most --length)",
    )
    p.add_argument("--seed", type=args_types.seed, default=0, help="0 to 2**32-1")
    p.add_argument(
        "--primer",
        help="a MIDI/MusicXML file, or a chorale id from the corpus (e.g. bwv66.6) whose opening is used",
    )
    p.add_argument("--primer-bars", type=int, default=2, help="bars of a chorale used as primer (default 2)")
    args_types.add_track_option(p)
    p.add_argument("--unconstrained", action="store_true", help="no grammar mask (shows invalid output)")


def add_parser(sub) -> None:
    """Register `generate` and `compare`."""
    g = sub.add_parser("generate", help="generate a melody with one sampling method")
    _common(g)
    _knobs(g, method=True)
    g.add_argument("--out", help="MIDI file to write (an existing file is refused unless --overwrite)")
    g.add_argument("--musicxml", help="MusicXML file to write (likewise)")
    g.add_argument(
        "--overwrite", action="store_true", help="replace the files of --out/--musicxml if they exist"
    )
    g.add_argument("--json", action="store_true", help="print tokens, events and metrics as JSON")
    g.set_defaults(func=run_generate)

    c = sub.add_parser("compare", help="the four sampling methods side by side, with a metrics table")
    _common(c)
    _knobs(c, method=False)
    c.add_argument(
        "--samples",
        type=int,
        default=64,
        help="samples per method (default 64: tables of a few samples change with the seed)",
    )
    c.add_argument(
        "--no-reference", action="store_true", help="skip the Bach reference row and KL/memorization"
    )
    c.add_argument("--max-reference", type=int, default=None, help="use at most N held-out melodies")
    c.add_argument("--json", action="store_true", help="print the table as JSON")
    c.set_defaults(func=run_compare)


def _knob_values(args):
    """compare.Knobs from the flags: one --temperature for top-k, top-p and plain sampling."""
    from bachlstm.reports.comparison import Knobs

    return Knobs(
        k=args.k,
        k_temperature=args.temperature,
        p=args.p,
        p_temperature=args.temperature,
        temperature=args.temperature,
        min_p=args.min_p,
        typical_p=args.typical_p,
        repetition_penalty=args.repetition_penalty,
        no_repeat_ngram=args.no_repeat_ngram,
    )


def _primer_name(args) -> str:
    """The primer as a download's title names it: "none", a chorale id, or the file's name (and line)."""
    if not args.primer:
        return "none"
    name = Path(args.primer).name
    return f"{name}, line {args.track}" if args.track and Path(args.primer).is_file() else name


def _primer(args, checkpoint):
    """Events from --primer: a file (read as MIDI/MusicXML) or a chorale id of the checkpoint's selection."""
    if not args.primer:
        return None
    from bachlstm.generation.primer import primer_choices, primer_from_melody, upload_primer

    path = Path(args.primer)
    if path.is_file():
        primer = upload_primer(path.read_bytes(), path.name, checkpoint.tokenizer, line=args.track)
        for warning in primer.warnings:  # the same notices the Sampling page words
            print(f"{path.name}: {warning}", file=sys.stderr)
        args_types.print_lines(path.name, primer.lines)
        return primer.events
    from bachlstm.corpus.cache import load_corpus
    from bachlstm.corpus.selection import select
    from bachlstm.training.splits import checkpoint_selection

    corpus = load_corpus()
    melodies = select(corpus, checkpoint_selection(checkpoint.meta)).melodies
    found = [m for m in melodies if m.piece_id == args.primer]
    if not found:
        raise ValueError(
            f"--primer {args.primer!r} is neither a file nor a chorale id of this model's selection"
        )
    offered, left = primer_choices(found, corpus, bars=args.primer_bars)  # the Sampling page's rule
    if not offered:
        m, why = left[0].melody, left[0].why
        said = (
            "rests in its opening bars"
            if why == "silent"
            else "an instrument part that does not play the tune"
        )
        raise ValueError(
            f"--primer {args.primer}: this model's melody of it is {m.voice}, {said}; try another chorale "
            "or a file"
        )
    return primer_from_melody(offered[0].melody, bars=args.primer_bars)


def _clean(value):
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _one_thread() -> None:
    """Generation steps a batch of a few rows: extra OpenMP threads only spin (compare: 7.3 s with
    2 threads against 3.0 s with 1, measured on 2 cores)."""
    import torch

    torch.set_num_threads(1)


def run_generate(args) -> int:
    """Generate one melody; write MIDI/MusicXML; print a summary with warnings, or JSON."""
    _one_thread()
    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.music.scores import download_composer, download_title, to_midi, to_musicxml
    from bachlstm.reports.comparison import compare_methods, method_config

    config = method_config(_knob_values(args), args.method)
    for option, path in (("--out", args.out), ("--musicxml", args.musicxml)):
        args_types.check_new_file(path, option, args.overwrite)  # before the work, not after it
    checkpoint = load_checkpoint(args.checkpoint)
    primer = _primer(args, checkpoint)
    result = compare_methods(
        checkpoint,
        [config],
        primer=primer,
        length=args.length,
        min_length=args.min_length,
        max_notes=args.max_notes,
        cadence=args.cadence,
        close_after=args.close_after,
        seed=args.seed,
        constrained=not args.unconstrained,
    )
    gen, metrics = result.generations[0], result.metrics[0]
    melody = gen.full_events
    model = Path(args.checkpoint).stem
    title = download_title(model, config.method, _primer_name(args))
    if args.out:
        Path(args.out).write_bytes(to_midi(melody, title=title))
    if args.musicxml:
        Path(args.musicxml).write_bytes(to_musicxml(melody, title=title, composer=download_composer(model)))
    vocab = checkpoint.tokenizer.vocab
    if args.json:
        out = {
            "checkpoint": str(checkpoint.path),
            "config": config.to_dict(),
            "label": config.label,
            "seed": args.seed,
            "min_length": gen.min_length,
            "constrained": gen.constrained,
            "finished": gen.finished,
            "cut": gen.cut,
            "max_notes": gen.max_notes,
            "trimmed": gen.trimmed,
            "primer_tokens": gen.primer_tokens,
            "tokens": gen.tokens,
            "token_strings": [vocab[t] for t in gen.tokens],
            "events": [e.to_dict() for e in gen.events],
            "primer_events": [e.to_dict() for e in gen.primer_events],
            "metrics": metrics,
            "warnings": [asdict(w) for w in result.warnings],
            "out": args.out,
            "musicxml": args.musicxml,
        }
        print(json.dumps(_clean(out), indent=2))
        return 0
    print(
        f"{config.label}: {len(gen.tokens)} tokens, {len(gen.events)} notes/rests ({gen.notes} notes), "
        f"validity {gen.validity:.0%}"
    )
    if gen.cut:
        print(f"  {cut_words(gen, args.length)}")
    shown = (
        "pitch_range",
        "pc_entropy",
        "scale_consistency",
        "distinct_2",
        "loops",
        "bar_validity",
        "self_perplexity",
    )
    print("  " + ", ".join(f"{k}={_fmt(metrics[k])}" for k in shown))
    for label, path in (("MIDI", args.out), ("MusicXML", args.musicxml)):
        if path:
            print(f"  {label}: {path}")
    for warning in result.warnings:
        print(f"warning: {warning}")
    return 0


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v + 0.0:.3g}"  # + 0.0 turns -0.0 (a one-pitch melody's entropy) into 0
    return str(v)


def run_compare(args) -> int:
    """The four methods x N samples in one batch; print a metrics table with a Bach reference row."""
    import pandas as pd

    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.reports.comparison import checkpoint_reference, compare_methods, sampling_configs

    if args.samples < 1:
        raise ValueError(f"--samples must be >= 1, got {args.samples}")
    _one_thread()
    configs = sampling_configs(_knob_values(args))
    checkpoint = load_checkpoint(args.checkpoint)
    primer = _primer(args, checkpoint)
    ref = None
    if not args.no_reference:
        try:
            ref = checkpoint_reference(checkpoint, max_melodies=args.max_reference)
        except ValueError as exc:  # e.g. a checkpoint without a recorded split
            print(f"no Bach reference: {exc}", file=sys.stderr)
    result = compare_methods(
        checkpoint,
        configs,
        primer=primer,
        length=args.length,
        min_length=args.min_length,
        max_notes=args.max_notes,
        cadence=args.cadence,
        close_after=args.close_after,
        seed=args.seed,
        samples=args.samples,
        constrained=not args.unconstrained,
        reference=ref,
        unmasked=True,
    )
    table = result.table
    style = result.style
    if args.json:
        out = {
            "checkpoint": str(checkpoint.path),
            "samples": args.samples,
            "length": args.length,
            "min_length": result.generations[0].min_length,
            "max_notes": args.max_notes,
            "cadence": args.cadence,
            "close_after": args.close_after,
            "cut": {
                g.config.label: sum(x.cut for x in result.generations if x.config == g.config)
                for g in result.generations
            },  # fmt: skip
            "seed": args.seed,
            "constrained": not args.unconstrained,
            "reference_melodies": len(ref.melodies) if ref else 0,
            "rows": table.astype(object).where(pd.notna(table), None).to_dict(orient="records"),
            "warnings": [asdict(w) for w in result.warnings],
            "style": _style_json(style) if style else None,
        }
        print(json.dumps(_clean(out), indent=2))
        return 0
    cols = ["method", "samples", "validity", "invalid_unmasked", "events", "loops", "self_perplexity"]
    with pd.option_context(
        "display.width", 200, "display.max_columns", 30, "display.float_format", "{:.3g}".format
    ):
        print(table[cols].to_string(index=False, na_rep="-"))
        if style:
            _print_style(style)
    cut = sum(g.cut for g in result.generations)
    if cut:
        print(f"{cut} of {len(result.generations)} melodies were cut by the limit, not ended by the model")
    _print_warnings(result.warnings, args.samples)
    return 0


def cut_words(gen, length: int) -> str:
    """Why a melody stopped where it did, when the model did not end it."""
    if gen.note_limit:
        return f"cut by the limit of {gen.max_notes} notes: the model had not ended it"
    return f"cut by the limit of {length} tokens: the model had not ended it"


def _style_json(style) -> dict:
    """StyleReport as JSON: per row each figure's value and 95% interval, plus floors and meanings."""
    rows = [
        {
            "method": row.label,
            "melodies": row.melodies,
            "figures": {name: asdict(iv) for name, iv in row.figures.items()},
            "longest_copy": asdict(row.longest_copy),
        }
        for row in style.rows
    ]
    return {
        "rows": rows,
        "noise_floor": {"pitch_classes": style.noise_floor[0], "transitions": style.noise_floor[1]},
        "memorization_floor": style.memorization_floor,
        "n_notes": style.n_notes,
        "meanings": style.meanings(),
    }


def _print_style(style) -> None:
    """The style table (values, then 95% intervals) and what each column means."""
    frame = style.frame().set_index("method")
    values = [c for c in frame.columns if not c.endswith(" 95%")]
    print("\nAgainst held-out Bach (first row: Bach validation = the noise floor):")
    print(frame[values].T.to_string())
    print("\n95% bootstrap intervals:")
    print(frame[[c for c in frame.columns if c.endswith(" 95%")]].T.to_string())
    print()
    for name, meaning in style.meanings().items():
        print(f"  {name}: {meaning}")


def _print_warnings(warnings, samples: int) -> None:
    """Every warning for a few samples; for many, how many samples of each method got each kind."""
    if samples <= 4:
        for warning in warnings:
            print(f"warning: {warning}")
        return
    counts: dict[tuple[str, str], int] = {}
    for w in warnings:
        method = w.label.split(" #")[0]
        counts[(method, w.kind)] = counts.get((method, w.kind), 0) + 1
    for (method, kind), n in counts.items():
        print(f"warning: {method}: {n} of {samples} samples: {kind}")
