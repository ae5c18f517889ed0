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

    def to_dict(self) -> dict:
        """Plain dict with the keys `evaluate --json` prints."""
        return asdict(self)


@dataclass
class _Sums:
    bits: float = 0.0
    pitch_bits: float = 0.0
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
        )


def _event_pitch_matrix(tokenizer: EventTokenizer) -> torch.Tensor:
    """(V, 128) 0/1 matrix: note token -> its MIDI pitch (every duration and spelling of one pitch)."""
    matrix = torch.zeros(tokenizer.vocab_size, 128)
    for i in range(tokenizer.vocab_size):
        if tokenizer.token_type(i) == "note":
            matrix[i, tokenizer.decode([i]).events[0].midi] = 1.0
    return matrix


def _event_sums(model, tokenizer: EventTokenizer, seqs: Sequence[Sequence[int]], sums: _Sums) -> None:
    matrix = _event_pitch_matrix(tokenizer)
    for ids in seqs:
        x, y = torch.tensor(ids[:-1])[None], torch.tensor(ids[1:])  # (1, T), (T,)
        logp = torch.log_softmax(model(x)[0][0].float(), dim=-1)  # (T, V) nats
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


def _factored_sums(model, tokenizer: FactoredTokenizer, seqs: Sequence[Sequence[int]], sums: _Sums) -> None:
    names = [i for i in range(tokenizer.vocab_size) if tokenizer.token_type(i) == "pitch"]
    octaves = [i for i in range(tokenizer.vocab_size) if tokenizer.token_type(i) == "octave"]
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
            for r, b in enumerate(rows):
                name, octave = (tokenizer.vocab[i] for i in seqs[b][t + 1 : t + 3])
                true = midi_of(name, int(octave[1:]))
                sums.pitch_bits += float(-torch.log2(pitch_p[r, true]))
                sums.hits += int(int(pitch_p[r].argmax()) == true)
                starts.append((b, t))
                sums.notes += 1
    # a note's bits: its name, octave, duration type, dots and separator
    sums.note_bits += sum(float(bits[b, t : t + 5].sum()) for b, t in starts)
    for b, ids in enumerate(seqs):
        sums.bits += float(bits[b, : len(ids) - 1].sum())
        sums.events += [tokenizer.token_type(i) for i in ids].count("separator")


def _pitch_marginal(model, logp, hidden, rows, names, octaves, to_midi) -> torch.Tensor:
    """(R, 128) p(MIDI pitch) at note starts: p(name) from `logp` (R, V) times p(octave | name), the
    latter by stepping every name token from each row's state."""
    k = len(names)
    state = tuple(
        (h[:, rows].repeat_interleave(k, dim=1), c[:, rows].repeat_interleave(k, dim=1)) for h, c in hidden
    )
    octave_logits, _ = model.step(torch.tensor(names).repeat(len(rows)), state)  # (R * K, V)
    p_octave = torch.softmax(octave_logits.float(), dim=-1)[:, octaves].reshape(len(rows), k, -1)
    joint = logp[:, names].exp()[:, :, None] * p_octave  # (R, K, O): p(name, octave)
    return joint.reshape(len(rows), -1) @ to_midi


@torch.no_grad()
def note_bits(model, tokenizer, melodies: Iterable[Melody | Sequence[Event]]) -> NoteBits:
    """NoteBits of `model` on whole `melodies` (each scored once from its start, like `evaluate`)."""
    seqs = [tokenizer.encode(m.events if isinstance(m, Melody) else m) for m in melodies]
    return note_bits_of_ids(model, tokenizer, seqs)


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
def note_bits_of_ids(model, tokenizer, seqs: Sequence[Sequence[int]]) -> NoteBits:
    """NoteBits of `model` on encoded melodies (BOS ... EOS token id lists); TypeError for a tokenizer
    other than the event and factored ones."""
    if next(model.parameters()).device.type != "cpu":
        model = copy.deepcopy(model).cpu()  # a few small steps: simpler on the CPU than on any device
    was_training = model.training
    model.eval()
    sums = _Sums()
    seqs = [list(s) for s in seqs if len(s) > 1]
    try:
        if isinstance(tokenizer, EventTokenizer):
            _event_sums(model, tokenizer, seqs, sums)
        elif isinstance(tokenizer, FactoredTokenizer):
            if seqs:
                _factored_sums(model, tokenizer, seqs, sums)
        else:
            raise TypeError(
                f"note_bits knows the event and factored tokenizers, not {type(tokenizer).__name__}"
            )
    finally:
        model.train(was_training)
    return sums.result()
