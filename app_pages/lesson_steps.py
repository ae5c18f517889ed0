"""The lesson path's steps: the workshop in order, each with what to do, what to look at, one question to
discuss, and a link to the page and setting where it happens.

Plain data beside the pages (no streamlit here); texts are English message ids marked with N_ and shown
through the translation layer. A step's `query` is the link's address: settings the target page reads
(`page_links.apply_link_settings`, widget keys as names) or, for Sampling, a Sampling link
(`bachlstm.reports.links`: it opens with these settings and generates at once).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app_pages.i18n import N_
from app_pages.terms import CORPUS, INSIDE, SAMPLING, TRAINING


@dataclass(frozen=True)
class Step:
    """One step of the lesson: a title, the workshop goal it serves, what to do, what to look at, a question
    for the class, and the link (page file, query parameters, the link's words)."""

    title: str
    goal: str
    do: str
    look: str
    question: str
    page: str
    link: str
    query: dict[str, str] = field(default_factory=dict)
    terms: tuple[str, ...] = ()  # glossary entries (terms.TERMS keys) the step uses


STEPS = (
    Step(
        title=N_("The corpus: keys and lengths"),
        goal=N_("Data modelling with music21: which melodies, and why these"),
        do=N_(
            "Open the Corpus page with the workshop's filters: the first part of every piece in 4/4, 30 to "
            "65 notes and rests. Change the voice and the length limits and press Apply filters."
        ),
        look=N_(
            "How many melodies the filters keep and why the others are left out; the keys and modes; the "
            "melody lengths with your cut-offs; the ambitus of each voice."
        ),
        question=N_(
            "The workshop kept only 30 to 65 notes and rests. What does a model trained on these learn about "
            "how long a melody is, and which keys will it hardly ever see?"
        ),
        page=CORPUS,
        link=N_("Corpus with the workshop's filters"),
        query={"corpus_ts": "4/4", "corpus_voice": "first", "corpus_min": "30", "corpus_max": "65"},
        terms=("ambitus", "tonality", "anacrusis"),
    ),
    Step(
        title=N_("Tokens: music as a sequence"),
        goal=N_("Data modelling: notes and rests as tokens, the vocabulary and the embedding size"),
        do=N_(
            "Switch the tokenizer between event (a token per note) and factored (the workshop's: pitch, "
            "octave, duration, dots and a separator per note)."
        ),
        look=N_(
            "The number of tokens, the token frequency by rank, the vocabulary coverage and the embedding "
            "dimension suggested for each vocabulary."
        ),
        question=N_(
            "A factored note is five tokens, an event note one. What does that change for the model: its "
            "vocabulary, how far back it must remember, and what one percent of loss means?"
        ),
        page=CORPUS,
        link=N_("Corpus with the factored tokenizer"),
        query={"corpus_tokenizer": "factored"},
        terms=("token", "vocabulary", "embedding", "bos-eos"),
    ),
    Step(
        title=N_("Training and the loss curve"),
        goal=N_("PyTorch and the LSTM: how a network learns from examples"),
        do=N_(
            "Choose the workshop preset and start a run (a few epochs on the first 24 melodies are enough). "
            "Watch it train; the other pages stay usable meanwhile."
        ),
        look=N_(
            "The loss chart: training loss and validation loss per optimizer step, and the validation "
            "accuracy after each epoch. When does the validation loss stop falling?"
        ),
        question=N_(
            "Why is the validation loss usually higher than the training loss, and what would happen to it "
            "after many more epochs?"
        ),
        page=TRAINING,
        link=N_("Training with the workshop preset"),
        query={"train_preset": "workshop"},
        terms=("cross-entropy", "epoch", "perplexity", "held-out"),
    ),
    Step(
        title=N_("The four methods and what each cuts"),
        goal=N_("Sampling: greedy, top-k, top-p and temperature"),
        do=N_(
            "Open Sampling with the workshop model: four melodies, one per method, from the same model and "
            "seed. Listen to each; then pick a step in the next-token explorer."
        ),
        look=N_(
            "In the explorer, the red bars are what a method cuts away; the narrow bars what it draws from. "
            "Under each melody: valid groups, self-perplexity and the longest copy."
        ),
        question=N_(
            "Why does greedy soon repeat itself? What do top-k and top-p cut that temperature does not?"
        ),
        page=SAMPLING,
        link=N_("Sampling with the workshop model"),
        query={"model": "workshop", "seed": "0"},
        terms=("greedy", "top-k", "nucleus-sampling", "temperature", "valid-groups", "self-perplexity"),
    ),
    Step(
        title=N_("Inside the LSTM"),
        goal=N_("RNN and LSTM: gates, memory and what units learn"),
        do=N_(
            "Look at the workshop model's gates and states on a held-out chorale; trace the unit that "
            "varies most; then open What units track and Surprise."
        ),
        look=N_(
            "Whether some unit rises and falls with the bar lines (a meter unit) or with the pitch; which "
            "notes surprise the model most."
        ),
        question=N_(
            "Nobody told the network where the bar lines are. How could a unit learn them, and how would "
            "you check that it is not chance?"
        ),
        page=INSIDE,
        link=N_("Gates and states of the workshop model"),
        query={"inside_ckpt": "workshop", "inside_tab": "states"},
        terms=("lstm", "information-content", "embedding"),
    ),
    Step(
        title=N_("Hyperparameters and the sweep"),
        goal=N_("Hyperparameters: the embedding size and what a sweep shows"),
        do=N_(
            "Open the hyperparameter sweep with the embedding dimension at 2, 3 and 8 (the workshop chose "
            "3) and start it; the runs train one after another."
        ),
        look=N_(
            "The best validation loss and the bits per note against the embedding dimension; the curves "
            "of the runs overlaid under Compare runs."
        ),
        question=N_(
            "The workshop derived 3 dimensions from which tokens occur together. Does the sweep agree, "
            "and is one run per value enough to tell?"
        ),
        page=TRAINING,
        link=N_("A sweep over the embedding dimension"),
        query={"train_preset": "workshop", "sweep_field": "embedding_dim", "sweep_values": "2, 3, 8"},
        terms=("hyperparameter", "embedding", "bits-per-note", "learning-rate", "dropout"),
    ),
    Step(
        title=N_("Listening"),
        goal=N_("Judging music: the ear and the figures"),
        do=N_(
            "Open Sampling with the larger bach model and a hotter temperature. Listen to the four melodies, "
            "one at a time large with Show, and download the one you like as MIDI."
        ),
        look=N_(
            "How the methods compare with held-out Bach: ends on tonic, tonic by step, remote keys, notes "
            "outside the key; the Bach row is what real chorales score."
        ),
        question=N_(
            "Which melody would pass for a chorale tune? Which figure agrees with your ear, and which one "
            "does not?"
        ),
        page=SAMPLING,
        link=N_("Sampling with the bach model"),
        query={"model": "bach", "seed": "1", "temperature": "1.2"},
        terms=("tonic-step", "remote", "cadence", "kl-divergence"),
    ),
)
