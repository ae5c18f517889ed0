"""Settings every package checks: bad values as problems (field, code), a seed, this server's limits."""

from bachlstm import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "problems": (
            "Problem",
            "Checks",
            "SettingsError",
            "CodedError",
            "code_of",
        ),
        "seeds": (
            "SeedError",
            "check_seed",
        ),
        "limits": (
            "Limits",
            "BudgetError",
            "MB",
        ),
    },
)
