"""Tests of `bachlstm.analysis`."""
