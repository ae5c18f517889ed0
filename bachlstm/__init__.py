"""bachlstm: explore the music21 Bach chorales, train LSTMs on them, and compare sampling methods."""

__version__ = "0.1.0"
