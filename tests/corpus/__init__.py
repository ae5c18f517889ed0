"""Tests of `bachlstm.corpus`."""
