"""The test suite: a folder per package, builders in builders.py, fixtures in conftest.py."""
