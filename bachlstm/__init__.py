"""bachlstm: explore the music21 Bach chorales, train LSTMs on them, and compare sampling methods.

The entry points a notebook needs are named here and imported on first use (PEP 562), so that
`import bachlstm` stays cheap and the torch-free parts (checkpoint listing, the corpus) stay torch-free:

    import bachlstm
    ckpt = bachlstm.load_checkpoint("bach")                  # a shipped model, or a run's name or path
    primer = bachlstm.read_primer("melody.mid")              # a MIDI or MusicXML file as a melody
    comparison = bachlstm.compare_methods(ckpt, ...)         # the four methods side by side, with figures
    inspection = bachlstm.inspect_melody(ckpt, melody)       # gates, states and surprise of one melody
    result = bachlstm.train(bachlstm.get_preset("bach"))     # a training run

The sub-packages, bottom to top: `settings`, `music`, `tokens`, `model`, `analysis` and `corpus`,
`training` and `generation`, `reports`, then `cli`. docs/ARCHITECTURE.md has one line per module.
"""

from __future__ import annotations

from importlib import import_module

__version__ = "0.1.0"


def lazy_exports(package: str, modules: dict[str, tuple[str, ...]]):
    """(`__getattr__`, `__dir__`, `__all__`) for a package naming `modules[module]` names of its modules.

    Each name is imported from its module on first use: importing a package costs nothing, and a
    torch-free module stays importable without torch even though its package also names torch code.
    """
    home = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str):
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{home[name]}"), name)

    def __dir__() -> list[str]:
        return sorted(home)

    return __getattr__, __dir__, sorted(home)


__getattr__, __dir__, __all__ = lazy_exports(
    "bachlstm",
    {
        "model.checkpoints": ("load_checkpoint", "list_checkpoints", "Checkpoint"),
        "training.presets": ("get_preset", "preset_names", "override"),
        "training.loop": ("train",),
        "generation.generator": ("generate",),
        "generation.sampling": ("SamplingConfig",),
        "generation.primer": ("read_primer",),
        "reports.comparison": ("compare_methods",),
        "reports.inspection": ("inspect_melody",),
        "corpus.cache": ("load_corpus",),
    },
)
