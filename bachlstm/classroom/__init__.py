"""The classroom: students' names, the class's records (who owns which run, what is shared), the
teacher's view of the server, wait estimates for the training queue."""

from bachlstm import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "listening": (
            "ListeningResult",
            "StudentScore",
            "listening_results",
            "student_scores",
            "wilson_interval",
        ),
        "ownership": ("Visibility", "run_owners", "same_student", "visible_to"),
        "records": (
            "BoardItem",
            "ClassRecords",
            "ListeningRound",
            "ListeningSettings",
            "RecordsError",
            "RunRecord",
            "Student",
            "database_path",
        ),
        "students": (
            "StudentNameError",
            "validate_student_name",
            "default_run_name",
            "next_run_name",
            "run_stem",
        ),
        "waits": ("job_waits", "pace_from", "queue_waits", "time_left"),
        "workshop": ("ClassRun", "archive_runs", "class_runs", "delete_run", "run_files", "zip_runs"),
    },
)
