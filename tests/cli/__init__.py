"""Tests of `bachlstm.cli`."""
