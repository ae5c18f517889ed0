"""Token grammars: which token may come next after a token sequence, for each tokenizer.

A grammar makes constrained decoding possible (only tokens that keep the line decodable) and scores
a sequence (`first_violation`). `grammar_of(tokenizer)` is the one way to get a tokenizer's grammar.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from fractions import Fraction

import numpy as np

from bachlstm.music.durations import format_ql, parse_ql
from bachlstm.tokens.tokenizers import BOS, EOS, EventTokenizer, FactoredTokenizer, Tokenizer


class GrammarError(ValueError):
    """A token is not allowed in the current grammar state."""


class Grammar:
    """Which token may come next: `initial_state()` (after BOS), `allowed`, `advance`, `is_complete`.

    States are small immutable tuples. `allowed` returns a cached read-only bool mask of length V;
    PAD, UNK and BOS are never allowed, EOS only in a complete state. After EOS the state is
    terminal and allows only EOS, so a batch can keep stepping finished rows harmlessly.
    """

    TERMINAL: tuple = ("end",)

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.vocab_size = len(tokenizer.vocab)
        self._masks: dict = {}
        self._eos_only = self._mask([EOS])

    def _mask(self, ids: Iterable[int]) -> np.ndarray:
        m = np.zeros(self.vocab_size, dtype=bool)
        m[list(ids)] = True
        m.flags.writeable = False
        return m

    def _ids_of_type(self, *types: str) -> list[int]:
        return [i for i, t in enumerate(self.tokenizer._types) if t in types]

    def allowed(self, state) -> np.ndarray:
        """Read-only bool array [V]: the tokens allowed next."""
        if state == self.TERMINAL:
            return self._eos_only
        mask = self._masks.get(state)
        if mask is None:
            if len(self._masks) > 200_000:  # bound memory in a long-lived server; refilled on demand
                self._masks.clear()
            mask = self._masks[state] = self._compute(state)
        return mask

    def allowed_batch(self, states: Sequence) -> np.ndarray:
        """Bool array [B, V] of `allowed` for each state of a batch."""
        return np.stack([self.allowed(s) for s in states])

    def advance(self, state, token_id: int):
        """The state after `token_id`; GrammarError if the token is not allowed here."""
        token_id = int(token_id)
        if not self.allowed(state)[token_id]:
            raise GrammarError(
                f"token {self.tokenizer.vocab[token_id]!r} (id {token_id}) is not allowed in state {state}"
            )
        if token_id == EOS:
            return self.TERMINAL
        return self._step(state, token_id)

    def is_complete(self, state) -> bool:
        """True where the sequence may end: every note/rest (and, with bars, every bar) finished."""
        return state == self.TERMINAL or bool(self.allowed(state)[EOS])

    def ending(self, state) -> np.ndarray:
        """Bool [V]: the allowed tokens that end the line here: EOS, and any token after which only
        EOS may follow. This generic version advances by every allowed token (one mask each);
        a grammar that knows which of its tokens close a line answers directly."""
        row = np.zeros(self.vocab_size, dtype=bool)
        for t in np.flatnonzero(self.allowed(state)):
            after = self.allowed(self.advance(state, int(t)))
            row[t] = after.sum() == 1 and after[EOS]
        return row

    def first_violation(self, ids: Sequence[int]) -> int | None:
        """Index of the first token the grammar rejects (a leading BOS is skipped); None if all pass.

        A sequence that stops without EOS passes if it could still be continued.
        """
        state = self.initial_state()
        for k, t in enumerate(ids):
            if k == 0 and int(t) == BOS:
                continue
            if not self.allowed(state)[int(t)]:
                return k
            state = self.advance(state, t)
        return None

    def state_after(self, ids: Iterable[int]):
        """The state after a token sequence (a leading BOS is skipped): the one grammar replay.

        GrammarError names the first token the grammar does not allow.
        """
        state = self.initial_state()
        for k, t in enumerate(ids):
            if k == 0 and int(t) == BOS:
                continue
            state = self.advance(state, t)
        return state

    def initial_state(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _compute(self, state) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _step(self, state, token_id: int):  # pragma: no cover - abstract
        raise NotImplementedError


class FactoredGrammar(Grammar):
    """Separator -> pitch | duration (| rest marker) | EOS; pitch -> octave -> duration -> dots -> separator.

    State: (last token type, whether a group was completed). EOS needs one finished group.
    """

    NEXT = {
        "pitch": ("octave",),
        "octave": ("duration",),
        "rest": ("duration",),
        "duration": ("dots",),
        "dots": ("separator",),
    }

    def __init__(self, tokenizer: FactoredTokenizer) -> None:
        super().__init__(tokenizer)
        starts = ("pitch", "rest") if tokenizer.options["rest_marker"] else ("pitch", "duration")
        self._next = {**self.NEXT, "start": starts}

    def initial_state(self) -> tuple:
        """State right after BOS."""
        return ("start", False)

    def _compute(self, state) -> np.ndarray:
        kind, done = state
        ids = self._ids_of_type(*self._next[kind])
        if kind == "start" and done:
            ids.append(EOS)
        return self._mask(ids)

    def _step(self, state, token_id: int) -> tuple:
        kind = self.tokenizer._types[token_id]
        return ("start", True) if kind == "separator" else (kind, state[1])


class EventGrammar(Grammar):
    """Event tokens; with bar tokens every bar is exactly `bar_quarters` long, except the pickup.

    The first bar may be short (a pickup: BAR allowed at any position after its first event). If it
    was, one closing bar of (bar - pickup) may end the piece, as the chorales do; only EOS follows it.
    Otherwise BAR comes exactly when the bar is full and EOS only right after a BAR, so a generated
    line is whole bars. A duration is offered only if the bar can still be filled exactly with the
    vocabulary's durations (no dead ends). With ties, TIE may follow a note that can be continued,
    and the next note must have the same spelled pitch and octave.

    State: (phase, position in ticks, pickup ticks, last note's pitch key, pending tie pitch key)
    with phase "first" (first bar; without bars: before any event), "second" (the bar after a
    pickup: it must be whole), "mid" or "closed"; -1 means none.
    """

    def __init__(self, tokenizer: EventTokenizer) -> None:
        super().__init__(tokenizer)
        opts = tokenizer.options
        self.bars = opts["bar_tokens"]
        self.ties = opts["ties"]
        n = self.vocab_size
        self.kind = list(tokenizer._types)
        durations: dict[int, Fraction] = {}
        pitch_keys: dict[str, int] = {}
        self.pitch_key = np.full(n, -1, dtype=np.int64)
        for i, (tok, kind) in enumerate(zip(tokenizer.vocab, self.kind)):
            if kind in ("note", "rest"):
                durations[i] = Fraction(format_ql(parse_ql(tok.rsplit("_", 1)[1])))
            if kind == "note":
                self.pitch_key[i] = pitch_keys.setdefault(tok.rsplit("_", 1)[0], len(pitch_keys))
        bar = Fraction(opts["bar_quarters"]).limit_denominator(960)
        res = math.lcm(bar.denominator, *(d.denominator for d in durations.values()))
        self.bar_ticks = int(bar * res)
        self.ticks = np.zeros(n, dtype=np.int64)
        for i, d in durations.items():
            self.ticks[i] = int(d * res)
        self.event_ids = np.array(sorted(durations), dtype=np.int64)
        self.bar_id = tokenizer.index.get(EventTokenizer.BAR, -1)
        self.tie_id = tokenizer.index.get(EventTokenizer.TIE, -1)
        # fillable[r]: r ticks can be filled exactly by a sequence of event durations.
        self.fillable = np.zeros(self.bar_ticks + 1, dtype=bool)
        self.fillable[0] = True
        steps = sorted({int(self.ticks[i]) for i in self.event_ids})
        for r in range(1, self.bar_ticks + 1):
            self.fillable[r] = any(self.fillable[r - d] for d in steps if d <= r)

    def initial_state(self) -> tuple:
        """State right after BOS."""
        return ("first", 0, 0, -1, -1)

    def _fits(self, ids: np.ndarray, phase: str, pos: int) -> np.ndarray:
        """Which of `ids` may come at `pos` (a subset of event ids)."""
        if not self.bars:
            return ids
        room = self.bar_ticks - pos
        ticks = self.ticks[ids]
        ok = ticks <= room
        if phase != "first":  # the bar must still be fillable exactly afterwards
            ok &= self.fillable[np.clip(room - ticks, 0, None)]
        return ids[ok]

    def _tie_ok(self, phase: str, pos: int, key: int) -> bool:
        """A TIE after a note of pitch `key` can be followed by a note of that pitch."""
        same = self.event_ids[self.pitch_key[self.event_ids] == key]
        places = [(phase, pos)] if pos < self.bar_ticks else []
        if pos == self.bar_ticks or (phase == "first" and pos > 0):  # across the coming bar line
            places.append(("mid", 0))
        return any(len(self._fits(same, ph, p)) > 0 for ph, p in places)

    def _compute(self, state) -> np.ndarray:
        phase, pos, pickup, last, tie = state
        if phase == "closed":
            return self._eos_only
        ids: list[int] = []
        candidates = self.event_ids
        if tie >= 0:
            candidates = candidates[self.pitch_key[candidates] == tie]
        ids.extend(int(i) for i in self._fits(candidates, phase, pos))
        if self.ties and last >= 0 and tie < 0 and self._tie_ok(phase, pos, last):
            ids.append(self.tie_id)
        if self.bars:
            full = pos == self.bar_ticks
            if (phase == "first" and pos > 0) or full:
                ids.append(self.bar_id)
            elif phase == "mid" and pickup > 0 and pos == self.bar_ticks - pickup and tie < 0:
                ids.append(self.bar_id)  # the closing bar that completes the pickup
            if phase == "mid" and pos == 0 and tie < 0:
                ids.append(EOS)
        elif phase == "mid" and tie < 0:
            ids.append(EOS)
        return self._mask(ids)

    def ending(self, state) -> np.ndarray:
        """Grammar.ending without trying every token: only EOS itself and a BAR that closes the line
        (the short bar completing a pickup) are followed by EOS alone; every other state allows a
        note (`_compute`: EOS only where a bar starts or, without bars, between events)."""
        allowed = self.allowed(state)
        row = np.zeros(self.vocab_size, dtype=bool)
        row[EOS] = allowed[EOS]
        if self.bar_id >= 0 and allowed[self.bar_id]:
            row[self.bar_id] = self._step(state, self.bar_id)[0] == "closed"
        return row

    def _step(self, state, token_id: int) -> tuple:
        phase, pos, pickup, last, tie = state
        if token_id == self.tie_id:
            return (phase, pos, pickup, -1, last)
        if token_id == self.bar_id:
            if phase == "first":  # after a pickup one whole bar must come before the end
                pickup = pos % self.bar_ticks
                return ("second" if pickup else "mid", 0, pickup, -1, tie)
            if pos < self.bar_ticks:
                return ("closed", 0, pickup, -1, -1)
            return ("mid", 0, pickup, -1, tie)
        if not self.bars:
            return ("mid", 0, 0, int(self.pitch_key[token_id]), -1)
        return (phase, pos + int(self.ticks[token_id]), pickup, int(self.pitch_key[token_id]), -1)


GRAMMARS: dict[str, type[Grammar]] = {"factored": FactoredGrammar, "event": EventGrammar}
_CACHE: dict[int, Grammar] = {}  # tokenizer hash -> its grammar (masks cached inside), a few at most
_MAX_CACHED = 8


def build_grammar(tokenizer: Tokenizer) -> Grammar:
    """A new grammar for a tokenizer (its own mask cache); `grammar_of` shares one per tokenizer."""
    return GRAMMARS[tokenizer.name](tokenizer)


def grammar_of(tokenizer: Tokenizer) -> Grammar:
    """The tokenizer's grammar, shared across calls so its mask cache survives (building one is slow)."""
    key = hash(tokenizer)
    grammar = _CACHE.get(key)
    if grammar is None or (grammar.tokenizer is not tokenizer and grammar.tokenizer != tokenizer):
        grammar = build_grammar(tokenizer)
        if len(_CACHE) >= _MAX_CACHED:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = grammar
    return grammar
