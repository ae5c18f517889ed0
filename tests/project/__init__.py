"""The project's promises: README commands, CI, pins, import layers, the architecture, the package APIs."""
