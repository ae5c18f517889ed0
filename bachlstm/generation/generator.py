"""Generation: every method x sample in one batch, one token per step with the LSTM state carried,
masked by the tokenizer's grammar so the output always decodes into notes, rests and whole bars.

Determinism: each row draws its random numbers from its own generator, seeded from (seed, the
config's settings, sample index), so the same checkpoint, primer, settings and seed give identical
output, and a method's melodies do not depend on which other methods share the batch. Methods do not
share random numbers: with shared ones, inverse-CDF draws made top-p and plain sampling stop at the
very same steps (a small uniform picks the low-id EOS under both), which looked like a bug.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from bachlstm.generation.primer import encode_primer
from bachlstm.generation.sampling import NEG_INF, BatchSampler, SamplingConfig
from bachlstm.model.checkpoints import Checkpoint
from bachlstm.model.short_term import ShortTermModel, has_short_term, mix
from bachlstm.music.events import Event, Melody
from bachlstm.music.scores import infer_pickup, stamp_bars
from bachlstm.music.tonality import closes, last_chain_start, may_close
from bachlstm.settings.problems import MIN_OVER_LENGTH, MIN_OVER_MOST, Checks, SettingsError
from bachlstm.settings.seeds import check_seed
from bachlstm.tokens.grammar import grammar_of
from bachlstm.tokens.tokenizers import EOS, EventTokenizer, validity

log = logging.getLogger(__name__)

MODES = ("stateful", "window")
GROUP_ENDS = ("separator", "note", "rest", "bar")  # token types after which a note/rest is complete
DEFAULT_WINDOW = 100  # tokens re-fed per step in window mode (Skuli's sequence length)
# The dashboard's and the command line's minimum: two bars of quarters. Some primers (a triplet
# figure, a run of 32nds) make the shipped models end at once; 8 notes always give something to hear.
DEFAULT_MIN_LENGTH = 8
# The token limit that goes with a limit in notes: a factored note takes 5 tokens, a rest 3, and event
# tokens add bar lines and ties; 8 per note (and a bar's worth more) never binds before the notes do.
TOKENS_PER_NOTE = 8
# One stepping loop at a time in a process (the server's sessions are threads of one). A loop is thousands
# of tiny torch calls, each of which lets go of the GIL: loops running together handed it to one another
# at every call. 12 AppTest sessions clicking Generate together, thread CPU of the loop per Generate,
# load 19-24: 106-115 ms at once, 74-86 ms one after another (62 ms alone); the page's total 250-273 ->
# 190-198 ms. Waiting costs no CPU, and a process runs Python on one core at a time anyway.
ONE_LOOP = threading.Lock()
NOTE_TYPES = ("note", "pitch")  # the token types that begin a note: event tokens' note, factored pitch


@dataclass
class Generation:
    """One generated continuation: its config, sample index, tokens (generated only) and events."""

    config: SamplingConfig
    sample: int
    tokens: list[int]  # generated tokens (no BOS/primer); ends with EOS when `finished`
    events: list[Event]  # the continuation's events (bars numbered from the primer's start)
    primer_tokens: list[int] = field(default_factory=list)  # BOS + primer
    primer_events: list[Event] = field(default_factory=list)
    n_groups: int = 0  # note/rest candidates in the continuation
    n_invalid: int = 0  # of which did not decode
    finished: bool = False  # stopped at EOS (else at the length limit)
    trimmed: int = 0  # tokens dropped at the end to finish on a complete note/bar (constrained only)
    constrained: bool = True
    seed: int = 0
    mode: str = "stateful"
    min_length: int = 0  # notes the continuation had to reach before EOS was allowed
    max_notes: int | None = None  # the most notes it could have (None: only the token limit)
    note_limit: bool = False  # cut because it would have gone past `max_notes`

    @property
    def cut(self) -> bool:
        """True when a limit (notes or tokens, or Stop) ended it, not the model's own EOS."""
        return not self.finished

    @property
    def notes(self) -> int:
        """Notes (not rests) in the continuation."""
        return sum(not e.is_rest for e in self.events)

    @property
    def label(self) -> str:
        """The config's label plus the sample number."""
        return f"{self.config.label} #{self.sample + 1}"

    @property
    def validity(self) -> float:
        """Share of the continuation's token groups that decode into a note or rest (1.0 if none)."""
        return validity(self.n_groups, self.n_invalid)

    @property
    def full_tokens(self) -> list[int]:
        """BOS + primer + generated tokens."""
        return self.primer_tokens + self.tokens

    @property
    def full_events(self) -> list[Event]:
        """Primer events followed by the continuation."""
        return self.primer_events + self.events


@functools.lru_cache(maxsize=4096)  # a pure function; hashing a config costs ~0.1 ms per row
def row_seed(seed: int, sample: int, config: SamplingConfig | None = None) -> int:
    """The seed of one row's random stream, from (seed, config settings, sample) via numpy's SeedSequence.

    Stable across processes and platforms (no Python hash).
    """
    words = [int(seed) & 0xFFFFFFFF, int(sample)]
    if config is not None:
        digest = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode()).digest()
        words += list(np.frombuffer(digest[:16], dtype=np.uint32))
    return int(np.random.SeedSequence(words).generate_state(1)[0])


def generate(
    checkpoint: Checkpoint,
    configs: Sequence[SamplingConfig] | SamplingConfig,
    *,
    primer: Sequence[Event] | Melody | None = None,
    length: int = 256,
    min_length: int = 0,
    max_notes: int | None = None,
    cadence: bool = False,
    close_after: int | None = None,
    seed: int = 0,
    samples: int = 1,
    constrained: bool = True,
    mode: str = "stateful",
    window: int = DEFAULT_WINDOW,
    progress: Callable[[int, int], None] | None = None,
    stop_event=None,
) -> list[Generation]:
    """Generate `samples` continuations for each config, all rows in one batch (one forward per step).

    `checkpoint` is a loaded Checkpoint (`checkpoints.load_checkpoint`): its model and tokenizer are used.
    `primer`: None starts from BOS; events (or a Melody) are encoded and fed first. At most `length`
    tokens are generated per row; a row stops at EOS. With `constrained` the grammar mask allows only
    tokens that keep the line decodable, and a row cut by the length limit is trimmed back to its last
    complete note (or bar, with bar tokens). `mode="window"` re-feeds the last `window` tokens each
    step without carrying the state (what the original did), for comparison. `progress(step, length)`
    is called every step; a set `stop_event` ends generation early (rows are trimmed as at the limit).

    `min_length` is the minimum number of notes after the primer, like `min_new_tokens` in Hugging
    Face's GenerationConfig but counted in notes, not tokens (0 = off): until a row has that many,
    EOS is masked, and with `constrained` so is any token after which only EOS may follow (the bar
    that closes a pickup), except where nothing else is allowed. A note is one note token (event
    tokens) or one pitch token (factored tokens); rests do not count. `length` still wins: a row cut by
    it may have fewer notes (a factored note takes 5 tokens).
    `max_notes` limits the melody in notes instead (None = off; `length` still applies): a row that
    would begin note `max_notes + 1` stops there, cut like a row at the token limit (`Generation.cut`).
    `cadence` (with `constrained`) lets a row end only where its line closes as a chorale does
    (`tonality.closes`: the tonic of its key so far, begun on beat 1 or 3); elsewhere EOS is held back
    like below `min_length`; with `close_after` too, a row that has that many notes ends at its next
    closing point (EOS is forced there), so melodies end where they close rather than at a limit.
    The stepping loops of one process run one at a time (`ONE_LOOP`); a second waits for the first.
    Returns the Generations in order: config 0 samples 0..n-1, config 1, ...
    TypeError when `checkpoint` is not a Checkpoint; ValueError names a bad argument.
    """
    if not isinstance(checkpoint, Checkpoint):
        raise TypeError(
            "generate() takes a loaded Checkpoint (checkpoints.load_checkpoint(name)), "
            f"got {type(checkpoint).__name__}"
        )
    if isinstance(configs, SamplingConfig):
        configs = [configs]
    configs = list(configs)
    if not configs:
        raise ValueError("generate() needs at least one SamplingConfig")
    check_arguments(
        length=length, min_length=min_length, samples=samples, window=window, mode=mode, max_notes=max_notes
    )
    check_seed(seed)  # 2**32 would fold onto seed 0 in row_seed and repeat its music
    model, tokenizer = checkpoint.model, checkpoint.tokenizer
    prefix = encode_primer(tokenizer, primer, constrained=constrained)
    row_configs = [c for c in configs for _ in range(samples)]
    row_samples = [s for _ in configs for s in range(samples)]
    settings = _Settings(length, seed, constrained, mode, window, min_length, max_notes, cadence, close_after)
    # Rows whose melody is already known (greedy, made before with the same model, primer and settings)
    # are done from the start: they stay in the batch, so every other row's arithmetic is exactly what
    # it would be with them (a batch of another size can round differently), but no step waits for them.
    watched = progress is not None or stop_event is not None  # a caller that follows every step
    key = None if watched else _greedy_key(checkpoint, prefix, settings)
    n_rows = len(row_configs)  # a row's arithmetic is exactly repeated only in the same place of a batch
    known = {
        r: _GREEDY.get((key, c, n_rows, r)) for r, c in enumerate(row_configs) if key and c.method == "greedy"
    }
    known = {r: g for r, g in known.items() if g is not None}
    with ONE_LOOP:
        run = _run(model, tokenizer, prefix, row_configs, row_samples, settings, progress, stop_event, known)
    pickup = 0.0
    if primer is not None:
        pickup = infer_pickup(list(primer.events if isinstance(primer, Melody) else primer))
    gens = _finish(tokenizer, prefix, row_configs, row_samples, run, constrained, seed, mode, pickup)
    for r, g in enumerate(gens):
        if r in known:
            gens[r] = _copy(known[r], sample=g.sample, seed=seed)
            continue
        g.min_length, g.max_notes = min_length, max_notes
        if key and g.config.method == "greedy":
            _GREEDY.put((key, g.config, n_rows, r), _copy(g, sample=0, seed=0))
    return gens


class _Kept:
    """A small thread-safe LRU: key -> value, the `size` most recently used kept."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """The value kept for `key` (now the most recent), or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        """Keep `value` for `key`, dropping the least recently used beyond `size`."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


# Greedy draws no random number: its melody depends on the model, the primer and the settings, never on
# the seed. A class clicking Generate asks for the same greedy line again and again (a model that falls
# into a repeated note writes it to the length limit, and keeps every other row of the batch stepping
# too): it is made once per process and model, primer and settings, and reused.
_GREEDY = _Kept(256)


def _greedy_key(checkpoint: Checkpoint, prefix: list[int], settings: _Settings) -> tuple | None:
    """What a greedy row's melody depends on, by content: the weights' digest (checked when the file
    was loaded) and their in-place versions, the tokenizer, BOS + primer, and the settings except the
    seed. None for a model without a digest (made in memory): its rows are always stepped."""
    digest = checkpoint.meta.get("weights_sha256")
    if not digest:
        return None
    versions = tuple(p._version for p in checkpoint.model.parameters())
    return (
        digest,
        versions,
        checkpoint.config,  # the short-term model's settings
        checkpoint.tokenizer,
        tuple(prefix),
        dataclasses.replace(settings, seed=0),
    )


def _copy(g: Generation, *, sample: int, seed: int) -> Generation:
    """A Generation with its own lists, as sample `sample` of a call with `seed`."""
    return dataclasses.replace(
        g, sample=sample, seed=seed, tokens=list(g.tokens), events=list(g.events),
        primer_tokens=list(g.primer_tokens), primer_events=list(g.primer_events),
    )  # fmt: skip


def token_limit(max_notes: int) -> int:
    """The token limit for a melody limited to `max_notes` notes (see TOKENS_PER_NOTE)."""
    return TOKENS_PER_NOTE * max_notes + 16


def check_arguments(*, length, min_length=0, samples=1, window=1, mode="stateful", max_notes=None) -> None:
    """SettingsError (a ValueError) naming every bad argument of generate() at once."""
    check = Checks()
    ok = [check.whole(name, value, lo) for name, value, lo in
          (("length", length, 1), ("min_length", min_length, 0), ("samples", samples, 1),
           ("window", window, 1))]  # fmt: skip
    if ok[0] and ok[1] and min_length > length:
        check.add(
            "min_length",
            f"({min_length} notes) cannot be more than the length ({length} tokens): every note takes "
            "at least one token",
            MIN_OVER_LENGTH,
            min=min_length,
            length=length,
        )
    if max_notes is not None and check.whole("max_notes", max_notes, 1) and ok[1] and min_length > max_notes:
        check.add(
            "min_length",
            f"({min_length} notes) cannot be more than the most notes ({max_notes})",
            MIN_OVER_MOST,
            min=min_length,
            most=max_notes,
        )
    if mode not in MODES:
        check.add("mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
    check.raise_any(SettingsError)


@dataclass(frozen=True)
class _Settings:
    """generate()'s per-call options that the stepping loop needs."""

    length: int
    seed: int
    constrained: bool
    mode: str
    window: int
    min_length: int = 0
    max_notes: int | None = None
    cadence: bool = False
    close_after: int | None = None


@dataclass
class _Run:
    tokens: torch.Tensor  # (B, L) generated tokens
    n_steps: int
    finished: list[bool]
    end: list[int]  # generated tokens kept per row (EOS included)
    complete: list[list[bool]]  # per row per step: grammar complete after that token
    note_limit: list[bool] = field(default_factory=list)  # per row: cut at max_notes


class _Transitions:
    """A grammar's steps memoised: (state, token) -> (next state, complete?) and state -> blocked mask.

    Generation advances every row every step; a melody revisits the same few hundred states, so
    after warm-up a step is two dict look-ups instead of the grammar's checks. Only allowed tokens
    are ever stored (the grammar raises on the others), so nothing is skipped that could fail.
    """

    _LIMIT = 200_000  # entries before a refill, to bound memory in a long-lived server

    def __init__(self, grammar) -> None:
        self.grammar = grammar
        self._next: dict = {}
        self._blocked: dict = {}
        self._ending: dict = {}

    def step(self, state, token: int) -> tuple:
        """(state after `token`, whether that state is complete)."""
        hit = self._next.get((state, token))  # the usual case, inline: every row, every step
        if hit is None:
            hit = self._kept(self._next, (state, token), lambda: self._advance(state, token))
        return hit

    def _advance(self, state, token: int) -> tuple:
        nxt = self.grammar.advance(state, token)
        return nxt, self.grammar.is_complete(nxt)

    def blocked(self, state) -> np.ndarray:
        """Bool [V]: the tokens the grammar forbids after `state` (checked once to allow some token)."""
        return self._kept(self._blocked, state, lambda: self._forbidden(state))

    def _forbidden(self, state) -> np.ndarray:
        allowed = self.grammar.allowed(state)
        if not allowed.any():
            raise ValueError(f"the grammar allows no token in state {state}")
        return ~allowed

    def ending(self, state) -> np.ndarray:
        """Bool [V]: the allowed tokens that end the line here (EOS, or a token after which only EOS
        may follow); all False where nothing else is allowed, so a minimum length never blocks a row."""
        return self._kept(self._ending, state, lambda: self._ending_tokens(state))

    def _ending_tokens(self, state) -> np.ndarray:
        row = self.grammar.ending(state)
        if row[~self.blocked(state)].all():
            row[:] = False
        return row

    def _kept(self, memo: dict, key, compute):
        """memo[key], from compute() the first time; a memo past `_LIMIT` entries is emptied first."""
        hit = memo.get(key)
        if hit is None:
            if len(memo) > self._LIMIT:
                memo.clear()
            hit = memo[key] = compute()
        return hit


# (grammar class, tokenizer) -> memo: keyed by content (tokenizers compare by their vocabulary and
# options), as grammar_of shares its grammars; equal tokenizers have grammars that step alike.
_TRANSITIONS: dict[tuple, _Transitions] = {}
_MAX_MEMOS = 8  # as many as grammar_of keeps


def _transitions(grammar) -> _Transitions:
    """The memo of a grammar's steps, one per grammar kind and tokenizer content."""
    key = (type(grammar), grammar.tokenizer)
    memo = _TRANSITIONS.get(key)
    if memo is None:
        if len(_TRANSITIONS) >= _MAX_MEMOS:
            _TRANSITIONS.pop(next(iter(_TRANSITIONS)))
        memo = _TRANSITIONS[key] = _Transitions(grammar)
    return memo


class _Rows:
    """Per-row bookkeeping of a batch: grammar states, the blocked mask, histories, EOS and ends."""

    def __init__(self, prefix, n_rows: int, length: int, grammar, uses_history: bool) -> None:
        self.memo = _transitions(grammar) if grammar is not None else None
        self.done = [False] * n_rows  # stopped: at EOS, or cut at the note limit
        self.eos = [False] * n_rows
        self.note_limit = [False] * n_rows
        self.end = [length] * n_rows
        self.complete: list[list[bool]] = [[] for _ in range(n_rows)]
        self.histories = [list(prefix[1:]) for _ in range(n_rows)] if uses_history else None
        self.blocked = None  # (B, V) bool tensor, rows rewritten in place as states change
        if self.memo is not None:
            state = grammar.state_after(prefix)
            self.states = [state] * n_rows
            # One numpy buffer shared with the tensor: a step rewrites rows, no new (B, V) tensor.
            self._blocked_np = np.stack([self.memo.blocked(state)] * n_rows)
            self.blocked = torch.from_numpy(self._blocked_np)

    def advance(self, t: int, chosen: list[int]) -> None:
        """Take step t's tokens: grammar states and masks, histories, and rows that reached EOS."""
        memo = self.memo
        for r, tok in enumerate(chosen):
            if self.done[r]:
                continue
            if memo is not None:
                state, complete = memo.step(self.states[r], tok)
                if state != self.states[r]:
                    self.states[r] = state
                    self._blocked_np[r] = memo.blocked(state)
                self.complete[r].append(complete)
            if self.histories is not None:
                self.histories[r].append(tok)
            if tok == EOS:
                self.done[r], self.eos[r], self.end[r] = True, True, t + 1

    def cut(self, r: int, t: int) -> None:
        """Stop row r before step t's token (the note limit): it ends as a row at the length limit."""
        self.done[r], self.end[r], self.note_limit[r] = True, t, True


class _Minimum:
    """`min_length`'s bookkeeping: notes so far per row, and which tokens a row that is short must not
    take: those that end the line and, after a rest, another rest (a model that wants to end would
    otherwise fill bar after bar with silence, as `bach` does greedily after a run of 32nds)."""

    def __init__(self, tokenizer, prefix: list[int], n_rows: int, min_length: int) -> None:
        types = [tokenizer.token_type(i) for i in range(len(tokenizer.vocab))]
        self.min_length = min_length
        self.is_note = np.array([t in NOTE_TYPES for t in types])
        self.is_rest = np.array([t == "rest" for t in types])  # event rests, the factored rest marker
        # Factored tokens without a rest marker: a group that begins with its duration is a rest.
        self.is_duration = np.array([t == "duration" for t in types])
        self.group_ends = np.array([t in ("bos", "separator") for t in types])
        self.notes = [0] * n_rows
        self.after_group = [bool(self.group_ends[prefix[-1]])] * n_rows
        self.after_rest = [False] * n_rows  # the continuation's last event is a rest

    def advance(self, chosen: list[int]) -> None:
        """Count step's tokens: notes, and whether each row's last event is now a rest."""
        for r, tok in enumerate(chosen):
            if self.is_note[tok]:
                self.notes[r] += 1
                self.after_rest[r] = False
            elif self.is_rest[tok] or (self.is_duration[tok] and self.after_group[r]):
                self.after_rest[r] = True
            self.after_group[r] = bool(self.group_ends[tok])

    def hold(self, rows: _Rows) -> torch.Tensor | None:
        """(B, V) bool: the tokens each short row may not take now; None when no row is short (so
        the usual step pays nothing). Never every token a row is allowed: ending tokens are held
        only where something else is allowed, repeated rests only where a note is."""
        short = [r for r, n in enumerate(self.notes) if n < self.min_length and not rows.done[r]]
        if not short:
            return None
        hold = np.zeros((len(self.notes), len(self.is_note)), dtype=bool)
        for r in short:
            if rows.memo is None:  # unconstrained: every token is allowed
                ending, allowed = np.zeros_like(self.is_note), np.ones_like(self.is_note)
                ending[EOS] = True
            else:
                ending, allowed = rows.memo.ending(rows.states[r]), ~rows._blocked_np[r]
            hold[r] = ending
            if self.after_rest[r]:
                rests = self.is_rest | (self.is_duration & self.after_group[r])
                if (allowed & ~(ending | rests)).any():
                    hold[r] |= rests
        return torch.from_numpy(hold)


class _Cadence:
    """`cadence`'s bookkeeping: each row's tokens so far, and EOS (with any token that only leads to it)
    held back where the line so far does not close (`tonality.closes`); asked only where a row could
    end now (with bar lines: after a bar). Bar by bar, the last bar decoded alone usually shows that the
    line cannot close there (`_bar_may_close`), so the whole line is decoded only where it might."""

    def __init__(self, tokenizer, prefix: list[int], n_rows: int, close_after: int | None) -> None:
        self.tokenizer, self.prefix, self.close_after = tokenizer, list(prefix), close_after
        self.tokens: list[list[int]] = [[] for _ in range(n_rows)]
        types = [tokenizer.token_type(i) for i in range(len(tokenizer.vocab))]
        self.is_note = np.array([t in NOTE_TYPES for t in types])
        self.is_bar = np.array([t == "bar" for t in types])
        self.notes = [0] * n_rows
        # Where each row's last two BARs are in prefix + tokens (-1: none yet).
        bars = [i for i, tok in enumerate(self.prefix) if self.is_bar[tok]]
        self.bars = [([-1, -1] + bars)[-2:] for _ in range(n_rows)]
        options = tokenizer.options
        self.bar_quarters = options.get("bar_quarters") if options.get("bar_tokens") else None

    def advance(self, chosen: list[int]) -> None:
        """Take one step's tokens."""
        for r, tok in enumerate(chosen):
            self.tokens[r].append(tok)
            self.notes[r] += int(self.is_note[tok])
            if self.is_bar[tok]:
                self.bars[r] = [self.bars[r][1], len(self.prefix) + len(self.tokens[r]) - 1]

    def _bar_may_close(self, r: int) -> bool:
        """False only where the line surely does not close: it has just completed a full bar after an
        earlier bar line, and that bar decoded alone (exact beats: a full bar is never a pickup) ends on a
        note whose chain begins inside it and that `may_close` rejects. True wherever the bar alone
        cannot tell (the pickup bar, a bar of rests, a note tied in from the bar before)."""
        before, last = self.bars[r]
        end = len(self.prefix) + len(self.tokens[r]) - 1
        if self.bar_quarters is None or before < 0 or last != end:
            return True
        start = before + 1 - len(self.prefix)
        bar = self.tokens[r][start:] if start >= 0 else self.prefix[before + 1 :] + self.tokens[r]
        events = self.tokenizer.decode(bar).events
        notes = [e for e in events if not e.is_rest]
        full = sum(e.quarter_length for e in events) == self.bar_quarters
        return not full or not notes or last_chain_start(notes) == 0 or may_close(events)

    def hold(self, rows: _Rows) -> torch.Tensor | None:
        """(B, V) bool: the ending tokens of rows whose line does not close here, and every other token
        of rows past `close_after` whose line does; None if no row is held."""
        hold = None
        for r, state in enumerate(rows.states):
            if rows.done[r]:
                continue
            ending = rows.memo.ending(state)
            if not ending.any():
                continue
            ok = self._bar_may_close(r) and closes(self.tokenizer.decode(self.prefix + self.tokens[r]).events)
            if ok and (self.close_after is None or self.notes[r] < self.close_after):
                continue
            if hold is None:
                hold = np.zeros((len(self.tokens), len(ending)), dtype=bool)
            hold[r] = ending if not ok else ~ending
        return None if hold is None else torch.from_numpy(hold)


def _run(
    model, tokenizer, prefix, row_configs, row_samples, settings: _Settings, progress, stop_event, known=()
) -> _Run:
    """The stepping loop: one forward pass and one vectorised sampling pass per generated token. Rows in
    `known` are done from the start (their tokens are not used)."""
    n_rows, length = len(row_configs), settings.length
    sampler = BatchSampler(row_configs)
    grammar = grammar_of(tokenizer) if settings.constrained else None
    rows = _Rows(prefix, n_rows, length, grammar, sampler.uses_history)
    for r in known:
        rows.done[r], rows.end[r] = True, 0
    minimum = _Minimum(tokenizer, prefix, n_rows, settings.min_length) if settings.min_length else None
    if settings.max_notes is not None:  # counts notes the same way, with nothing held back
        minimum = minimum or _Minimum(tokenizer, prefix, n_rows, 0)
    cadence = None
    if settings.cadence and grammar is not None:
        cadence = _Cadence(tokenizer, prefix, n_rows, settings.close_after)
    # Each row's uniforms come from its own generator: independent of how many rows share the batch.
    uniforms = torch.stack(
        [
            torch.rand(length, generator=torch.Generator().manual_seed(row_seed(settings.seed, s, c)))
            for c, s in zip(row_configs, row_samples)
        ]
    )  # (B, L)
    chosen_steps: list[torch.Tensor] = []  # (B,) per step, stacked at the end
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            forward = _Forward(model, prefix, n_rows, settings)
            memories = _memories(model, prefix, n_rows)
            logits = _with_memories(forward.first(), memories)
            for t in range(length):
                if stop_event is not None and stop_event.is_set():
                    break
                # The blocked rows are masked here once, so the sampler's own mask checks are skipped.
                masked = logits if rows.blocked is None else logits.masked_fill(rows.blocked, NEG_INF)
                hold = minimum.hold(rows) if minimum is not None else None
                if hold is not None:
                    masked = masked.masked_fill(hold, NEG_INF)
                if cadence is not None and (held := cadence.hold(rows)) is not None:
                    masked = masked.masked_fill(held, NEG_INF)
                processed = sampler.process(masked, None, rows.histories)
                chosen = sampler.choose(processed, uniforms[:, t])  # (B,)
                tokens = chosen.tolist()
                if settings.max_notes is not None:
                    for r, tok in enumerate(tokens):
                        if (
                            not rows.done[r]
                            and minimum.is_note[tok]
                            and minimum.notes[r] >= settings.max_notes
                        ):
                            rows.cut(r, t)
                rows.advance(t, tokens)
                if minimum is not None:
                    minimum.advance(tokens)
                if cadence is not None:
                    cadence.advance(tokens)
                chosen_steps.append(chosen)
                if progress is not None:
                    progress(t + 1, length)
                if all(rows.done) or t == length - 1:
                    break  # no forward pass whose logits nobody would use
                if memories is not None:  # a finished row's short-term model is read no more
                    for r, tok in enumerate(tokens):
                        if rows.done[r]:
                            memories[r] = None
                        else:
                            memories[r].add(tok)
                logits = _with_memories(forward.next(chosen), memories)
    finally:
        model.train(was_training)
    n_steps = len(chosen_steps)
    end = [min(e, n_steps) for e in rows.end]
    out = torch.stack(chosen_steps, dim=1) if n_steps else torch.zeros((n_rows, 0), dtype=torch.long)
    return _Run(out, n_steps, rows.eos, end, rows.complete, rows.note_limit)


def _memories(model, prefix, n_rows: int) -> list[ShortTermModel | None] | None:
    """One short-term model per row, having read BOS + primer; None for a network alone."""
    config = getattr(model, "config", None)
    if config is None or not has_short_term(config):
        return None
    first = ShortTermModel(config, prefix)
    return [first] + [copy.deepcopy(first) for _ in range(n_rows - 1)]


def _with_memories(logits: torch.Tensor, memories: list[ShortTermModel | None] | None) -> torch.Tensor:
    """The rows' next-token scores: the network's logits, or the log of their mix with each row's
    short-term model (model/short_term.py)."""
    if memories is None:
        return logits
    return torch.log(mix(torch.softmax(logits, dim=-1), memories))


class _Forward:
    """The model's side of the loop: the primer in one pass, then one token per row per step.

    The model may sit on a GPU; sampling and the grammar work on the CPU (tiny tensors).
    """

    def __init__(self, model, prefix, n_rows: int, settings: _Settings) -> None:
        self.model, self.mode, self.window = model, settings.mode, settings.window
        self.device = next(model.parameters()).device
        self.context = torch.tensor(prefix, dtype=torch.long, device=self.device).repeat(n_rows, 1)  # (B, P)
        self.hidden = None

    def first(self) -> torch.Tensor:
        """Logits (B, V) after BOS + primer."""
        if self.mode == "window":
            logits = self.model(self.context[:, -self.window :])[0][:, -1]
        elif self.context.shape[1] == 1:
            return self.next(self.context[:, 0])  # BOS alone: one step (a tenth of a forward pass)
        else:
            logits, self.hidden = self.model(self.context)  # the whole primer in one forward pass
            logits = logits[:, -1]
        return logits.float().cpu()

    def next(self, chosen: torch.Tensor) -> torch.Tensor:
        """Logits (B, V) after feeding the chosen tokens (B,)."""
        chosen = chosen.to(self.device)
        if self.mode == "window":
            self.context = torch.cat([self.context, chosen[:, None]], dim=1)
            return self.model(self.context[:, -self.window :])[0][:, -1].float().cpu()
        logits, self.hidden = self.model.step(chosen, self.hidden)
        return logits.float().cpu()


def _finish(
    tokenizer, prefix, row_configs, row_samples, run: _Run, constrained, seed, mode, pickup=0.0
) -> list[Generation]:
    # Without bar tokens the decoder counts bars from the first event; a primer's pickup is known
    # only from its events, so bars are renumbered from it.
    restamp = not tokenizer.options.get("bar_tokens") and pickup > 0
    prefix_decoded = tokenizer.decode(prefix)
    n_primer = len(prefix_decoded.events)
    primer_events = stamp_bars(prefix_decoded.events, pickup) if restamp else list(prefix_decoded.events)
    results = []
    all_tokens = run.tokens.tolist()
    for r, (cfg, s) in enumerate(zip(row_configs, row_samples)):
        toks = all_tokens[r][: run.end[r]]
        keep = list(range(len(toks)))
        if constrained and not run.finished[r]:
            keep = _complete_prefix(tokenizer, prefix, toks, run.complete[r][: len(toks)])
        elif not run.finished[r]:
            # Cut by the length limit mid-group: that unfinished group is the limit's doing, not the
            # model's, so it is dropped rather than counted as invalid.
            last = max(
                (k + 1 for k, t in enumerate(toks) if tokenizer.token_type(t) in GROUP_ENDS), default=0
            )
            keep = list(range(last))
        trimmed = len(toks) - len(keep)
        toks = [toks[k] for k in keep]
        decoded = tokenizer.decode(prefix + toks)
        events = stamp_bars(decoded.events, pickup) if restamp else list(decoded.events)
        results.append(
            Generation(
                config=cfg,
                sample=s,
                tokens=toks,
                events=events[n_primer:],
                primer_tokens=list(prefix),
                primer_events=primer_events,
                n_groups=decoded.n_groups - prefix_decoded.n_groups,
                n_invalid=max(0, decoded.n_invalid - prefix_decoded.n_invalid),
                finished=bool(toks) and toks[-1] == EOS,
                trimmed=trimmed,
                note_limit=run.note_limit[r],
                constrained=constrained,
                seed=seed,
                mode=mode,
            )
        )
    return results


def _complete_prefix(tokenizer, prefix: list[int], toks: list[int], complete: list[bool]) -> list[int]:
    """Indices of `toks` to keep so a row cut by the limit ends on a complete note (and bar).

    Normally the longest complete prefix. A line that ends in a tie chain (an untrained model's greedy
    output can tie one note forever) is complete except for its open tie: there the dangling TIE
    token is dropped instead, so it still ends on a whole bar rather than being trimmed to nothing.
    """
    last = max((k + 1 for k, ok in enumerate(complete) if ok), default=0)
    tie = tokenizer.index.get(EventTokenizer.TIE) if tokenizer.options.get("ties") else None
    if tie is not None:
        grammar = grammar_of(tokenizer)
        for k in range(len(toks), last, -1):
            tail = toks[max(0, k - 2) : k]
            if tie not in tail:
                continue
            drop = max(0, k - 2) + len(tail) - 1 - tail[::-1].index(tie)
            keep = [i for i in range(k) if i != drop]
            seq = prefix + [toks[i] for i in keep]
            if grammar.first_violation(seq) is None and grammar.is_complete(grammar.state_after(seq)):
                return keep
    return list(range(last))
