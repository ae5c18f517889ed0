"""Tests of `bachlstm.model`."""
