"""Tokens: the factored and event tokenizers, their grammars, and a tokenised melody laid out in time."""

from bachlstm import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "tokenizers": (
            "Tokenizer",
            "FactoredTokenizer",
            "EventTokenizer",
            "build_tokenizer",
            "tokenizer_from_dict",
            "validity",
        ),
        "grammar": (
            "Grammar",
            "build_grammar",
            "grammar_of",
        ),
        "timeline": (
            "Timeline",
            "melody_timeline",
        ),
    },
)
