"""What the pages and the command line show: the methods compared, the next token explained, one melody
inspected, a melody scored against Bach.
"""

from bachlstm import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "comparison": (
            "Comparison",
            "compare_methods",
            "Knobs",
            "next_token",
            "explain",
        ),
        "inspection": (
            "Inspection",
            "inspect_melody",
        ),
        "links": (
            "SamplingRequest",
            "LinkError",
            "from_query",
            "to_query",
        ),
        "scoring": (
            "score_melody",
            "MelodyScore",
        ),
        "stored_figures": (
            "FigureSettings",
            "method_style",
            "stored_figures",
        ),
    },
)
