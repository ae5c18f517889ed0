"""Tests of `bachlstm.music`."""
