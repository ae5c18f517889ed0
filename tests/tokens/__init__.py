"""Tests of `bachlstm.tokens`."""
