"""The glossary's entries: each term the pages use, in a student's words, and where it appears.

Plain data beside the pages. Texts are English message ids, marked with N_ for the catalog and shown
through the translation layer (`_(term.name)`); the Glossary page draws them, and `glossary_link` gives the
link a label's help tooltip ends with (`with_glossary(help, key)`).
"""

from __future__ import annotations

from dataclasses import dataclass

from app_pages.i18n import N_, current_language, translator
from app_pages.messages import LENGTH_LABEL, MIN_LENGTH_LABEL, NEXT_TOKEN_EXPLORER, PRIMER_LABEL

_ = translator(__name__)

# The pages by file, as streamlit_app.py registers them (their titles are translated there too).
HOME, CORPUS, TRAINING = "app_pages/home.py", "app_pages/corpus.py", "app_pages/training.py"
SAMPLING, INSIDE = "app_pages/sampling.py", "app_pages/inside.py"
PAGE_TITLES = {
    HOME: N_("Home"),
    CORPUS: N_("Corpus"),
    TRAINING: N_("Training"),
    SAMPLING: N_("Sampling"),
    INSIDE: N_("Inside the model"),
}


@dataclass(frozen=True)
class Term:
    """One glossary entry: its anchor, its name, what it means, and (page, figure) where it appears; a
    figure is a text or a tuple of the page's own labels (messages.SAMPLING_CONTROLS), shown joined."""

    # the anchor and the ?term= value: ascii, lower case, dashes, and no English word the German page
    # check looks for ("by", "keys", "loss"): a German page shows it inside a link
    key: str
    name: str
    text: str
    where: tuple[tuple[str, str | tuple[str, ...]], ...]


TERMS = (
    Term(
        "token",
        N_("Token"),
        N_(
            "The smallest piece of music the model reads and writes, like a word in a sentence. With the "
            "event tokenizer one token is a whole note or rest (pitch and duration together); with the "
            "factored tokenizer a note is split into several small tokens (pitch, octave, duration, dots, "
            "separator). The model always predicts the next token."
        ),
        (
            (CORPUS, N_("Tokens, Token frequency by rank")),
            (SAMPLING, (LENGTH_LABEL, NEXT_TOKEN_EXPLORER)),
        ),
    ),
    Term(
        "vocabulary",
        N_("Vocabulary"),
        N_(
            "The list of all tokens a model knows. A note the vocabulary lacks cannot be written; a primer "
            "with such notes is transposed until it fits."
        ),
        ((CORPUS, N_("Vocabulary coverage, Embedding dimension")),),
    ),
    Term(
        "bos-eos",
        N_("BOS / EOS"),
        N_(
            "Two special tokens: BOS (beginning of sequence) stands before the first note, so the model "
            "knows a melody starts; EOS (end of sequence) is the model's way of saying the melody is over. "
            "Minimum notes keeps EOS away until enough notes are written."
        ),
        ((SAMPLING, (MIN_LENGTH_LABEL, NEXT_TOKEN_EXPLORER)),),
    ),
    Term(
        "cross-entropy",
        N_("Loss (cross-entropy)"),
        N_(
            "How wrong the model's guesses for the next token are, averaged over many tokens: the negative "
            "logarithm of the probability it gave the right token. Training lowers it step by step; the "
            "validation loss, on melodies the model does not train on, shows whether it learns music or "
            "memorizes."
        ),
        ((TRAINING, N_("Loss chart, Compare runs")),),
    ),
    Term(
        "perplexity",
        N_("Perplexity"),
        N_(
            "The loss turned into a number of choices: a perplexity of 4 means the model is, on average, "
            "as unsure as if it picked among 4 equally likely tokens. Lower is better. It counts tokens, so "
            "compare it only between models with the same tokenizer."
        ),
        ((TRAINING, N_("Validation perplexity, Test perplexity")), (HOME, N_("Models table"))),
    ),
    Term(
        "information-content",
        N_("Information content (surprise)"),
        N_(
            "How surprising one note is for the model, in bits: -log2 of the probability it gave the note. "
            "1 bit is a coin toss, 10 bits a 1-in-1000 chance. Music psychologists measure listeners' "
            "expectation the same way (IDyOM)."
        ),
        ((INSIDE, N_("Surprise tab")),),
    ),
    Term(
        "bits-per-note",
        N_("Bits per note"),
        N_(
            "The information content averaged over all notes of the test melodies: how many yes/no "
            "questions the model needs, on average, to guess each note. Unlike perplexity it counts notes, "
            "not tokens, so models with different tokenizers can be compared. Lower is better."
        ),
        ((HOME, N_("Models table")), (TRAINING, N_("Hyperparameter sweep")), (INSIDE, N_("Surprise tab"))),
    ),
    Term(
        "short-term",
        N_("Short-term model"),
        N_(
            "A memory of the melody itself, added to the LSTM (which knows chorales in general). If the "
            "last few notes (2 to 8 tokens) came earlier in the same melody, what followed them there gets "
            "extra probability, at most half of it. Chorales repeat their opening phrases, so this saves "
            "bits on real Bach; music psychology's IDyOM combines a long-term and a short-term model the "
            "same way. The default model uses one when it writes, when it is scored and on the Inside page."
        ),
        ((HOME, N_("Pitch prediction against the literature")),),
    ),
    Term(
        "self-perplexity",
        N_("Self-perplexity"),
        N_(
            "The perplexity of a generated melody under the model that wrote it: how sure the model was "
            "of its own choices. Greedy melodies have a very low one (the model always took its favourite); "
            "a high temperature gives a high one."
        ),
        ((SAMPLING, N_("Figures under each melody, Token-level metrics")),),
    ),
    Term(
        "valid-groups",
        N_("Valid groups"),
        N_(
            "The share of token groups that make a real note or rest. With the factored tokenizer a note "
            "needs its pieces in the right order (pitch, octave, duration, dots, separator); a group that "
            "breaks this order cannot be played. The grammar mask keeps it at 100%."
        ),
        ((SAMPLING, N_("Figures under each melody, Token-level metrics")),),
    ),
    Term(
        "grammar-mask",
        N_("Grammar mask"),
        N_(
            "A rule applied while sampling: only tokens that can come next in a well-formed melody may be "
            "chosen (no duration without a pitch, for example). It does not change what the model learned, "
            "only what it may write."
        ),
        ((SAMPLING, N_("More samplers: grammar mask")),),
    ),
    Term(
        "embedding",
        N_("Embedding"),
        N_(
            "Each token becomes a short list of numbers (a vector) before the LSTM reads it. Tokens the "
            "network uses alike get similar vectors. The embedding size is how many numbers each token "
            "gets: the workshop used 3, so each token is a point in a space we can draw."
        ),
        (
            (CORPUS, N_("Embedding dimension")),
            (TRAINING, N_("Embedding dimension")),
            (INSIDE, N_("Embedding tab")),
        ),
    ),
    Term(
        "lstm",
        N_("LSTM, units and gates"),
        N_(
            "A Long Short-Term Memory network reads a melody one token at a time and keeps a memory (the "
            "cell state) from step to step. Each unit has three gates between 0 and 1: the input gate "
            "decides what is written into the memory, the forget gate what is kept, the output gate what "
            "is passed on."
        ),
        ((TRAINING, N_("LSTM sizes")), (INSIDE, N_("Gates and states, What units track"))),
    ),
    Term(
        "epoch",
        N_("Epoch, batch, step"),
        N_(
            "An epoch is one pass over all training windows. They are fed in batches (a few dozen windows "
            "at once); after each batch the optimizer takes one step, changing the weights a little."
        ),
        ((TRAINING, N_("Epochs, Batch size, Loss chart")),),
    ),
    Term(
        "learning-rate",
        N_("Learning rate"),
        N_(
            "How big each optimizer step is. Too large and the loss jumps about or grows; too small and "
            "the model learns slowly."
        ),
        ((TRAINING, N_("Learning rate, Hyperparameter sweep")),),
    ),
    Term(
        "hyperparameter",
        N_("Hyperparameter and sweep"),
        N_(
            "A setting chosen before training, not learned: epochs, learning rate, embedding size, LSTM "
            "sizes, dropout. A sweep trains one run per value of one setting, all else equal, so you see "
            "what that setting changes."
        ),
        ((TRAINING, N_("Training form, Hyperparameter sweep")),),
    ),
    Term(
        "dropout",
        N_("Dropout and overfitting"),
        N_(
            "Overfitting: the model learns its training melodies by heart and does worse on new ones (the "
            "validation loss rises while the training loss falls). Dropout switches random units off while "
            "training, so no unit can rely on one other: it fights overfitting."
        ),
        ((TRAINING, N_("Dropouts, Loss chart")),),
    ),
    Term(
        "held-out",
        N_("Held-out melodies (validation, test)"),
        N_(
            "Melodies kept away from training. Validation melodies choose the best epoch; test melodies "
            "give the final figures. Whole hymn tunes are kept apart, so a test melody is never another "
            "setting of a tune the model trained on."
        ),
        (
            (CORPUS, N_("Hymn tunes set more than once")),
            (SAMPLING, N_("Primer: opening of a held-out chorale")),
        ),
    ),
    Term(
        "primer",
        N_("Primer"),
        N_(
            "The notes the model continues: none, the first two bars of a held-out chorale, or your own "
            "file. It is drawn grey in the sheet music and the piano roll."
        ),
        ((SAMPLING, PRIMER_LABEL),),
    ),
    Term(
        "greedy",
        N_("Greedy"),
        N_(
            "Always take the most likely next token. Safe, but it soon repeats itself: the same phrase "
            "over and over."
        ),
        ((SAMPLING, N_("greedy column")),),
    ),
    Term(
        "top-k",
        N_("Top-k sampling"),
        N_(
            "Draw the next token at random, but only from the k most likely ones. k = 1 is greedy; a "
            "larger k allows more variety and more mistakes."
        ),
        ((SAMPLING, N_("top-k column, top-k: k")),),
    ),
    Term(
        "nucleus-sampling",
        N_("Nucleus sampling (top-p)"),
        N_(
            "Draw from the smallest set of most likely tokens whose probabilities add up to p. When the "
            "model is sure the set is small, when it is unsure the set grows."
        ),
        ((SAMPLING, N_("top-p column, top-p: p")),),
    ),
    Term(
        "temperature",
        N_("Temperature"),
        N_(
            "Reshapes the probabilities before drawing: below 1 the likely tokens get likelier (safer, more "
            "repetitive), above 1 they even out (more surprising, more random)."
        ),
        ((SAMPLING, N_("temperature column, the temperature sliders")),),
    ),
    Term(
        "seed",
        N_("Seed"),
        N_(
            "The starting number of the random draws. The same seed and settings give the same music; "
            "another seed gives another draw."
        ),
        ((SAMPLING, N_("Seed")), (TRAINING, N_("Seed"))),
    ),
    Term(
        "tonic-step",
        N_("Tonic by step"),
        N_(
            "The share of melodies whose last note is the tonic (the home note of the key) reached by a "
            "step of one or two semitones, as chorale melodies close: re-do or ti-do."
        ),
        ((SAMPLING, N_("How the methods compare")),),
    ),
    Term(
        "remote",
        N_("Remote keys"),
        N_(
            "Keys with four or more sharps or flats (such as E major or A-flat major). Bach's chorales "
            "rarely use them; a method that often lands there wanders away from his style."
        ),
        ((SAMPLING, N_("How the methods compare")), (CORPUS, N_("Keys and modes"))),
    ),
    Term(
        "kl-divergence",
        N_("KL divergence (vs Bach)"),
        N_(
            "How different two distributions are, in bits: here the pitch classes (or the steps between "
            "them) of the generated melodies against held-out Bach. 0 means the same; the Bach row shows "
            "how much two sets of real Bach differ."
        ),
        ((SAMPLING, N_("How the methods compare")),),
    ),
    Term(
        "anacrusis",
        N_("Anacrusis (pickup)"),
        N_(
            "One or more notes before the first full bar, as in most chorales, which start on the last "
            "beat. They are written as a short first bar."
        ),
        ((CORPUS, N_("Piece browser")), (SAMPLING, N_("sheet music"))),
    ),
    Term(
        "ambitus",
        N_("Ambitus"),
        N_("The range of a melody or a voice, from its lowest to its highest note."),
        ((CORPUS, N_("Ambitus per voice")),),
    ),
    Term(
        "cadence",
        N_("Cadence"),
        N_(
            "The close of a phrase: the melody comes to rest, at the end of a chorale on the tonic. "
            "Ends on tonic and tonic by step measure whether generated melodies close like this."
        ),
        ((SAMPLING, N_("How the methods compare")),),
    ),
    Term(
        "fermata",
        N_("Fermata"),
        N_(
            "A pause sign over a note. In the chorales it marks the end of each line of the hymn, where the "
            "congregation breathes; many chorale phrases end in a cadence under a fermata."
        ),
        ((CORPUS, N_("Piece browser")),),
    ),
    Term(
        "tonality",
        N_("Key and key signature"),
        N_(
            "The key is a melody's home: its tonic and mode (major or minor). The key signature is the "
            "sharps or flats at the start of each staff. German names: B is B-flat and H is B; Es-Dur is "
            "E-flat major, fis-Moll F-sharp minor."
        ),
        ((CORPUS, N_("Keys and modes")), (SAMPLING, N_("estimated key, sheet music"))),
    ),
)

BY_KEY = {term.key: term for term in TERMS}


def figure_labels(figure: str | tuple[str, ...]) -> tuple[str, ...]:
    """A "where it appears" figure's labels (message ids): one text, or the page's own labels."""
    return (figure,) if isinstance(figure, str) else figure


def figure_words(figure: str | tuple[str, ...]) -> str:
    """A "where it appears" figure in the page's language: its labels joined by commas."""
    return ", ".join(_(label) for label in figure_labels(figure))


def glossary_url(key: str, lang: str, student: str | None = None) -> str:
    """The glossary's address opened at one entry, in `lang`, as `student` (a link from a help tooltip
    opens a new tab, a new session: the address says who and in which language)."""
    from urllib.parse import urlencode

    params = {"lang": lang, "term": key, **({"student": student} if student else {})}
    return f"glossary?{urlencode(params)}#{key}"


def glossary_link(key: str) -> str:
    """A markdown link to one glossary entry, in the page's language, for the student at this tab."""
    import streamlit as st  # late: the entries themselves are plain data

    term = BY_KEY[key]
    url = glossary_url(key, current_language(), st.session_state.get("student"))
    return _("[Glossary: {term}]({url})").format(term=_(term.name), url=url)


def with_glossary(help_text: str | None, key: str | None) -> str | None:
    """A help tooltip that ends with a link to the glossary entry `key` (None: the help as it is)."""
    if key is None:
        return help_text
    return f"{help_text}\n\n{glossary_link(key)}" if help_text else glossary_link(key)
