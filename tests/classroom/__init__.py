"""Tests of `bachlstm.classroom`."""
