"""Tests of `bachlstm.training`."""
