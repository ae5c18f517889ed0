"""Tests of `bachlstm.reports`."""
