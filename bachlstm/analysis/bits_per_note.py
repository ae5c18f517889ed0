"""Model figures that compare across tokenizers: bits per event, pitch/duration bits per note, pitch top-1.

Token perplexity and token accuracy depend on how a melody is cut into tokens: the factored tokenizer
spends four of its five tokens per note on nearly certain structure, so its 0.75 token accuracy says
little about pitch. These figures are per musical event instead (the information content of IDyOM,
Pearce 2005: -log2 p(note | context); Conklin & Witten 1995 report chorale melodies in bits per note):

- bits per event: all the melody's target tokens (bar lines, ties and the end included) in bits,
  divided by its notes and rests;
- pitch bits per note: -log2 of the model's probability of the note's MIDI pitch, summed over every
  token that spells it (every duration and spelling with the event tokenizer; every spelled name and
  its octave with the factored one, found by stepping the model once per candidate name);
- pitch bits given duration: -log2 p(pitch | duration, history), IDyOM's condition (Pearce 2005 predicts
  a chorale note's pitch with its rhythm known): the model's joint probability of (pitch, duration)
  divided by its probability of a note of that duration (`pitch_bits_given_duration`). Event tokens
  give the joint directly; factored tokens by stepping every name, octave and duration type;
- duration bits per note: the note's bits minus its pitch bits (its duration once the pitch is known;
  for factored tokens also the dots, separator and spelling);
- pitch top-1: share of notes whose MIDI pitch is the model's most probable one.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import torch

from bachlstm.model.short_term import has_short_term, short_term_log_probs
from bachlstm.music.events import Event, Melody
from bachlstm.music.pitches import midi_of
from bachlstm.tokens.tokenizers import EventTokenizer, FactoredTokenizer

LN2 = math.log(2.0)


@dataclass(frozen=True)
class NoteBits:
    """Figures over a set of melodies (see the module docstring); NaN where nothing was counted."""

    bits_per_event: float
    pitch_bits_per_note: float
    duration_bits_per_note: float
    pitch_top1: float
    n_events: int
    n_notes: int
    pitch_bits_given_duration: float = float("nan")

    def to_dict(self) -> dict:
        """Plain dict with the keys `evaluate --json` prints."""
        return asdict(self)


@dataclass
class _Sums:
    bits: float = 0.0
    pitch_bits: float = 0.0
    given_duration_bits: float = 0.0
    given_duration_notes: int = 0  # notes whose duration the tokens spell (a factored UNK duration: not)
    note_bits: float = 0.0
    hits: int = 0
    notes: int = 0
    events: int = 0

    def result(self) -> NoteBits:
        nan = float("nan")
        per_note = (lambda v: v / self.notes) if self.notes else (lambda v: nan)
        return NoteBits(
            self.bits / self.events if self.events else nan,
            per_note(self.pitch_bits),
            per_note(self.note_bits - self.pitch_bits),
            per_note(float(self.hits)),
            self.events,
            self.notes,
            self.given_duration_bits / self.given_duration_notes if self.given_duration_notes else nan,
        )


def pitch_bits_given_duration(
    joint: torch.Tensor,
    pitch_of: torch.Tensor,
    duration_of: torch.Tensor,
    true_pitch: torch.Tensor,
    true_duration: torch.Tensor,
) -> torch.Tensor:
    """(N,) bits of -log2 p(pitch | duration) from (N, C) joint probabilities over C candidate notes.

    Candidate c spells MIDI pitch `pitch_of[c]` with duration class `duration_of[c]` (both (C,) long);
    several candidates may share a pitch (spellings) or a duration. Row n's figure is the mass of the
    candidates with `true_pitch[n]` and `true_duration[n]` over the mass of those with `true_duration[n]`.
    """
    same_duration = duration_of[None, :] == true_duration[:, None]  # (N, C)
    both = same_duration & (pitch_of[None, :] == true_pitch[:, None])
    return -torch.log2((joint * both).sum(1) / (joint * same_duration).sum(1))


def _event_candidates(tokenizer: EventTokenizer) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(note token ids, their MIDI pitches, their duration classes), each (C,): the candidate notes."""
    ids, pitches, durations, classes = [], [], [], {}
    for i in range(tokenizer.vocab_size):
        if tokenizer.token_type(i) == "note":
            event = tokenizer.decode([i]).events[0]
            ids.append(i)
            pitches.append(event.midi)
            durations.append(classes.setdefault(event.quarter_length, len(classes)))
    return torch.tensor(ids, dtype=torch.long), torch.tensor(pitches), torch.tensor(durations)


def _event_pitch_matrix(tokenizer: EventTokenizer) -> torch.Tensor:
    """(V, 128) 0/1 matrix: note token -> its MIDI pitch (every duration and spelling of one pitch)."""
    matrix = torch.zeros(tokenizer.vocab_size, 128)
    for i in range(tokenizer.vocab_size):
        if tokenizer.token_type(i) == "note":
            matrix[i, tokenizer.decode([i]).events[0].midi] = 1.0
    return matrix


def _event_sums(
    model,
    tokenizer: EventTokenizer,
    seqs: Sequence[Sequence[int]],
    sums: _Sums,
    given_duration: bool,
    short_term: bool,
) -> None:
    matrix = _event_pitch_matrix(tokenizer)
    cand_ids, cand_pitch, cand_duration = _event_candidates(tokenizer)
    column = torch.full((tokenizer.vocab_size,), -1, dtype=torch.long)  # token id -> candidate index
    column[cand_ids] = torch.arange(len(cand_ids))
    for ids in seqs:
        x, y = torch.tensor(ids[:-1])[None], torch.tensor(ids[1:])  # (1, T), (T,)
        scores = model(x)[0][0].float()  # (T, V)
        if short_term:
            scores = short_term_log_probs(model.config, ids, scores)
        logp = torch.log_softmax(scores, dim=-1)  # (T, V) nats
        token_bits = -logp.gather(1, y[:, None])[:, 0] / LN2  # (T,)
        sums.bits += float(token_bits.sum())
        types = [tokenizer.token_type(int(t)) for t in y]
        sums.events += sum(t in ("note", "rest") for t in types)
        notes = torch.tensor([t == "note" for t in types])
        if not notes.any():
            continue
        pitch_p = logp[notes].exp() @ matrix  # (N, 128)
        true = matrix[y[notes]].argmax(1)  # (N,)
        sums.pitch_bits += float(-torch.log2(pitch_p.gather(1, true[:, None])).sum())
        sums.note_bits += float(token_bits[notes].sum())
        sums.hits += int((pitch_p.argmax(1) == true).sum())
        sums.notes += int(notes.sum())
        if not given_duration:
            continue
        c = column[y[notes]]  # (N,) candidate index of each true note
        sums.given_duration_notes += len(c)
        sums.given_duration_bits += float(
            pitch_bits_given_duration(
                logp[notes][:, cand_ids].exp(), cand_pitch, cand_duration, cand_pitch[c], cand_duration[c]
            ).sum()
        )


def _factored_sums(
    model, tokenizer: FactoredTokenizer, seqs: Sequence[Sequence[int]], sums: _Sums, given_duration: bool
) -> None:
    names = [i for i in range(tokenizer.vocab_size) if tokenizer.token_type(i) == "pitch"]
    octaves = [i for i in range(tokenizer.vocab_size) if tokenizer.token_type(i) == "octave"]
    types = [i for i in range(tokenizer.vocab_size) if tokenizer.token_type(i) == "duration"]
    dots = [i for i in range(tokenizer.vocab_size) if tokenizer.token_type(i) == "dots"]
    # candidate (name k, octave j, type d, dots e), flattened in that order: its MIDI pitch and duration
    cand_pitch = torch.tensor(
        [
            midi_of(tokenizer.vocab[name], int(tokenizer.vocab[octave][1:]))
            for name in names
            for octave in octaves
            for _ in range(len(types) * len(dots))
        ]
    )
    cand_duration = torch.arange(len(types) * len(dots)).repeat(len(names) * len(octaves))
    # (K * O, 128): name k in octave j -> its MIDI pitch (spellings such as B#3 / C4 land on one pitch)
    to_midi = torch.zeros(len(names) * len(octaves), 128)
    for k, name in enumerate(names):
        for j, octave in enumerate(octaves):
            to_midi[
                k * len(octaves) + j, midi_of(tokenizer.vocab[name], int(tokenizer.vocab[octave][1:]))
            ] = 1
    x = torch.zeros(len(seqs), max(len(s) for s in seqs), dtype=torch.long)  # (B, L), PAD after the end
    for b, ids in enumerate(seqs):
        x[b, : len(ids)] = torch.tensor(ids)
    bits = torch.zeros(x.shape)  # bits[b, t]: of target x[b, t + 1]
    hidden, starts = None, []  # starts: (row, t) of every note's pitch name
    for t in range(x.shape[1] - 1):
        logits, hidden = model.step(x[:, t], hidden)  # (B, V)
        logp = torch.log_softmax(logits.float(), dim=-1)
        bits[:, t] = -logp.gather(1, x[:, t + 1 : t + 2])[:, 0] / LN2
        rows = [
            b
            for b, ids in enumerate(seqs)
            if t + 5 < len(ids) and tokenizer.token_type(ids[t + 1]) == "pitch"
        ]
        if rows:
            pitch_p = _pitch_marginal(model, logp[rows], hidden, rows, names, octaves, to_midi)  # (R, 128)
            if given_duration:  # 5 steps per candidate (K * O * D * E): the costly part
                joint = _factored_joint(model, logp[rows], hidden, rows, (names, octaves, types, dots))
            spelled, true_pitch, true_duration = [], [], []
            for r, b in enumerate(rows):
                name, octave = (tokenizer.vocab[i] for i in seqs[b][t + 1 : t + 3])
                true = midi_of(name, int(octave[1:]))
                if seqs[b][t + 3] in types and seqs[b][t + 4] in dots:
                    spelled.append(r)
                    true_pitch.append(true)
                    true_duration.append(types.index(seqs[b][t + 3]) * len(dots) + dots.index(seqs[b][t + 4]))
                sums.pitch_bits += float(-torch.log2(pitch_p[r, true]))
                sums.hits += int(int(pitch_p[r].argmax()) == true)
                starts.append((b, t))
                sums.notes += 1
            if not given_duration:
                continue
            sums.given_duration_notes += len(spelled)
            sums.given_duration_bits += float(
                pitch_bits_given_duration(
                    joint[spelled],
                    cand_pitch,
                    cand_duration,
                    torch.tensor(true_pitch),
                    torch.tensor(true_duration),
                ).sum()
            )
    # a note's bits: its name, octave, duration type, dots and separator
    sums.note_bits += sum(float(bits[b, t : t + 5].sum()) for b, t in starts)
    for b, ids in enumerate(seqs):
        sums.bits += float(bits[b, : len(ids) - 1].sum())
        sums.events += [tokenizer.token_type(i) for i in ids].count("separator")


def _pitch_marginal(model, logp, hidden, rows, names, octaves, to_midi) -> torch.Tensor:
    """(R, 128) p(MIDI pitch) at note starts: p(name) from `logp` (R, V) times p(octave | name)."""
    return _factored_joint(model, logp, hidden, rows, (names, octaves)) @ to_midi


def _factored_joint(model, logp, hidden, rows, vocab) -> torch.Tensor:
    """(R, K * O * D * E) joint p(name, octave, duration type, dots) at note starts: p(name) from `logp`
    (R, V), then each further token's probability by stepping every candidate prefix from each row's
    state; `vocab` = the (K names, O octaves, D types, E dots) token ids."""
    joint = logp[:, vocab[0]].exp()  # (R, K)
    tokens = torch.tensor(vocab[0]).repeat(len(rows))  # the prefix's last token, one per candidate
    state = tuple((h[:, rows], c[:, rows]) for h, c in hidden)
    for prev, nxt in zip(vocab, vocab[1:]):
        state = tuple(
            (h.repeat_interleave(len(prev), 1), c.repeat_interleave(len(prev), 1)) for h, c in state
        )
        logits, state = model.step(tokens, state)  # (R * prefixes, V)
        p_next = torch.softmax(logits.float(), dim=-1)[:, nxt].reshape(len(rows), -1, len(nxt))
        joint = (joint[:, :, None] * p_next).reshape(len(rows), -1)  # (R, prefixes * len(nxt))
        tokens = torch.tensor(nxt).repeat(joint.shape[1] // len(nxt) * len(rows))
    return joint


@torch.no_grad()
def note_bits(
    model,
    tokenizer,
    melodies: Iterable[Melody | Sequence[Event]],
    *,
    given_duration: bool = True,
    with_short_term: bool = True,
) -> NoteBits:
    """NoteBits of `model` on whole `melodies` (each scored once from its start, like `evaluate`)."""
    seqs = [tokenizer.encode(m.events if isinstance(m, Melody) else m) for m in melodies]
    return note_bits_of_ids(
        model, tokenizer, seqs, given_duration=given_duration, with_short_term=with_short_term
    )


def sequences_of(inputs: torch.Tensor, targets: torch.Tensor, pad_id: int = 0) -> list[list[int]]:
    """The token sequences behind whole-melody (N, T) inputs and next-token targets (training's
    `sequence_tensors`): each row's inputs up to its last non-PAD target, plus that target."""
    out = []
    for x, y in zip(inputs.tolist(), targets.tolist()):
        n = max((t + 1 for t, v in enumerate(y) if v != pad_id), default=0)
        if n:
            out.append([*x[:n], y[n - 1]])
    return out


@torch.no_grad()
def note_bits_of_ids(
    model,
    tokenizer,
    seqs: Sequence[Sequence[int]],
    *,
    given_duration: bool = True,
    with_short_term: bool = True,
) -> NoteBits:
    """NoteBits of `model` on encoded melodies (BOS ... EOS token id lists); TypeError for a tokenizer
    other than the event and factored ones. `given_duration=False` leaves pitch_bits_given_duration NaN
    (for factored tokens it costs ~3x the rest: every name x octave x duration is stepped).
    A model with a short-term model (model/short_term.py) is scored with it; `with_short_term=False`
    scores its network alone."""
    if next(model.parameters()).device.type != "cpu":
        model = copy.deepcopy(model).cpu()  # a few small steps: simpler on the CPU than on any device
    was_training = model.training
    model.eval()
    sums = _Sums()
    seqs = [list(s) for s in seqs if len(s) > 1]
    try:
        if isinstance(tokenizer, EventTokenizer):
            short_term = with_short_term and has_short_term(getattr(model, "config", None))
            _event_sums(model, tokenizer, seqs, sums, given_duration, short_term)
        elif isinstance(tokenizer, FactoredTokenizer):
            if with_short_term and has_short_term(getattr(model, "config", None)):
                raise ValueError("the short-term model needs event tokens (a note per token)")
            if seqs:
                _factored_sums(model, tokenizer, seqs, sums, given_duration)
        else:
            raise TypeError(
                f"note_bits knows the event and factored tokenizers, not {type(tokenizer).__name__}"
            )
    finally:
        model.train(was_training)
    return sums.result()
