"""Teaching texts of the "Inside the model" page."""

INSIDE_HELP = {
    "intro": "Look inside a trained network while it reads one melody: how surprised it is by each note, "
    "what its gates and memory cells do step by step, which units follow the meter or the pitch, and how "
    "it arranges its tokens.",
    "source": "A chorale the model never trained on (its test split), or a melody you generated on the "
    "Sampling page.",
    "surprise": "**Surprise** is a note's information content: -log2 of the probability the model gave it, "
    "knowing every note before it. 1 bit is a coin toss; 10 bits means the model gave that note about a "
    "1-in-1000 chance. A note made of several tokens (the workshop's pitch, octave, duration, dots and "
    "separator) adds up its tokens' bits. Music psychologists measure listeners' expectation the same way "
    "(IDyOM): surprising notes are often where the melody turns, starts a phrase or leaves the key.",
    "states": "Each LSTM unit has gates between 0 and 1: the **input gate** decides how much new content "
    "is written into its memory cell, the **forget gate** how much of the old content is kept, and the "
    "**output gate** how much of the cell the next layer sees. The **cell state** is the long memory, the "
    "**hidden state** what the unit passes on. One column per token, under the notes it belongs to; "
    "dashed lines are bar lines.",
    "units": "For each unit and each musical feature, the correlation r (from -1 to 1) between the unit's "
    "state after each note and that feature of the note. |r| near 1: the unit rises and falls with the "
    "feature, a *meter unit* or a *pitch unit* that nobody programmed. One melody is few notes, so large "
    "|r| also arise by chance among many units; within one melody the distance to the end is just the "
    "time since the start reversed. Pooling all held-out melodies separates them.",
    "pool": "Compute the correlations over the notes of every held-out melody at once (a few seconds the "
    "first time): a unit that tracks a feature everywhere, not just in this melody.",
    "embedding": "The embedding turns every token into a short vector before the LSTM sees it. The "
    "workshop network uses only **3 numbers per token**, so each token is a point in a space we can draw "
    "as it is, and tokens the network uses alike lie close together; three numbers are little room for "
    "some 40 tokens, so it cannot keep every distinction apart. A wider embedding (64 numbers for `bach`) "
    "has room for finer ones and is drawn here on its two main directions (PCA), which show only part of "
    "its spread.",
}
