"""Tests of `bachlstm.generation`."""
