"""Training: presets, the cost estimate against the limits, the data (splits, windows), the loop, evaluation,
run files, the job queue and its worker processes.
"""

from bachlstm import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "presets": (
            "Preset",
            "TrainConfig",
            "get_preset",
            "preset_names",
            "override",
            "PresetError",
        ),
        "budget": (
            "Estimate",
            "check_preset",
            "estimate_preset",
        ),
        "dataset": (
            "DataConfig",
            "build_datasets",
            "split_by_tune",
        ),
        "splits": (
            "split_melodies",
            "load_melodies",
        ),
        "loop": (
            "train",
            "Progress",
            "TrainResult",
            "TrainingStopped",
        ),
        "evaluation": ("evaluate", "Scores"),
        "run_data": ("prepare",),
        "run_files": ("save_best",),
        "jobs": (
            "JobManager",
            "TrainingJob",
            "JobError",
        ),
        "workers": (
            "ProcessRunner",
            "ThreadRunner",
        ),
    },
)
