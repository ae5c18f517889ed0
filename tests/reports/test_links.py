"""Links that reproduce a Sampling result: every setting into query parameters and back, every bad
value as a code with the value found."""

import pytest

from bachlstm.reports.comparison import Knobs
from bachlstm.reports.links import (
    CADENCE,
    GRAMMAR,
    MISSING_MODEL,
    NOT_A_NUMBER,
    NOT_ON_OFF,
    OUT_OF_RANGE,
    UNKNOWN_MODEL,
    UNKNOWN_PRIMER,
    LinkError,
    LinkProblem,
    SamplingRequest,
    from_query,
    is_link,
    to_query,
)

EVERY_KNOB = SamplingRequest(
    "bach",
    "bwv66.6:soprano",
    seed=4_294_967_295,
    length=64,
    min_length=4,
    samples=2,
    knobs=Knobs(3, 0.7, 0.85, 1.3, 0.55, 0.05, 0.95, 1.2, 3),
    constrained=False,
    cadence=False,
)


def test_every_setting_goes_into_the_address_and_back():
    query = to_query(EVERY_KNOB)
    assert query == {
        "model": "bach", "primer": "bwv66.6:soprano", "seed": "4294967295", "length": "64",
        "min_length": "4", "samples": "2", "k": "3", "k_temperature": "0.7", "p": "0.85",
        "p_temperature": "1.3", "temperature": "0.55", "min_p": "0.05", "typical_p": "0.95",
        "repetition_penalty": "1.2", "no_repeat_ngram": "3", GRAMMAR: "0",
        CADENCE: "0",
    }  # fmt: skip
    assert from_query(query, ["bach"], ["bwv66.6:soprano"]) == EVERY_KNOB
    assert is_link(query) and not is_link({"student": "Anna"})


def test_a_short_link_takes_the_page_defaults():
    assert from_query({"model": "bach", "seed": "7"}, ["bach"]) == SamplingRequest("bach", seed=7)
    assert from_query({"model": "bach", "seed": "7.0", "k": " 5 "}, ["bach"]).knobs.k == 5


def problems(params, models=("bach",), primers=None) -> list[LinkProblem]:
    with pytest.raises(LinkError) as caught:
        from_query(params, models, primers)
    return list(caught.value.problems)


def test_every_problem_of_a_link_at_once_with_its_value():
    assert problems({"model": "gone", "k": "many", "p": "nan", GRAMMAR: "yes"}) == [
        LinkProblem("model", UNKNOWN_MODEL, "gone"),
        LinkProblem("k", NOT_A_NUMBER, "many"),
        LinkProblem("p", NOT_A_NUMBER, "nan"),
        LinkProblem(GRAMMAR, NOT_ON_OFF, "yes"),
    ]
    assert problems({"model": " "}) == [LinkProblem("model", MISSING_MODEL, "")]
    assert problems({"model": "bach", "primer": "bwv1.6:soprano"}, primers=["bwv66.6:soprano"]) == [
        LinkProblem("primer", UNKNOWN_PRIMER, "bwv1.6:soprano")
    ]
    assert problems({"model": "bach", "seed": "2.5"}) == [LinkProblem("seed", NOT_A_NUMBER, "2.5")]


def test_values_out_of_range_carry_the_rule_that_refused_them():
    found = problems(
        {"model": "bach", "seed": "-1", "length": "4", "min_length": "9", "k_temperature": "0", "min_p": "2"}
    )
    assert [(p.field, p.code, p.value) for p in found] == [
        ("seed", OUT_OF_RANGE, "-1"),
        ("min_length", OUT_OF_RANGE, "9"),
        ("k_temperature", OUT_OF_RANGE, "0"),  # its own knob, though the config calls it temperature
        ("min_p", OUT_OF_RANGE, "2"),
    ]
    assert found[0].detail == "must be a whole number from 0 to 4,294,967,295 (2**32 - 1), got -1"
    assert found[3].detail == "must be from 0 to 1, got 2.0"
