"""app_pages/tables.py: table numbers in the reader's format (German number columns as German text)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import streamlit as st

from app_pages.i18n import using
from app_pages.tables import cell_text, reader_table


@pytest.mark.parametrize(
    ("value", "fmt", "de", "en"),
    [
        (431164, "localized", "431.164", "431,164"),
        (0.5096, "percent", "51,0\u00a0%", "51.0%"),
        (19.6434, "%.2f", "19,64", "19.64"),
        (0.25, "%+.2f", "+0,25", "+0.25"),
        (-0.25, "%+.2f", "-0,25", "-0.25"),
        (1000, None, "1.000", "1,000"),
        (0.12345, None, "0,123", "0.123"),
        (math.nan, "%.2f", None, None),
    ],
    ids=str,
)
def test_a_cell_in_each_language(value, fmt, de, en):
    with using("de"):
        assert cell_text(value, fmt) == de
    with using("en"):
        assert cell_text(value, fmt) == en


def test_german_tables_write_number_columns_as_german_text_and_keep_labels():
    table = pd.DataFrame({"run": ["a", "b"], "loss": [1.779, 19.64], "count": [1000, 5], "ok": [True, False]})
    config = {"loss": st.column_config.NumberColumn("Verlust", format="%.2f", help="pro Token")}
    with using("de"):
        shown, shown_config = reader_table(table, config)
    assert shown.to_dict("list") == {
        "run": ["a", "b"], "loss": ["1,78", "19,64"], "count": ["1.000", "5"], "ok": [True, False]
    }  # fmt: skip
    assert shown_config["loss"]["label"] == "Verlust" and shown_config["loss"]["help"] == "pro Token"
    assert shown_config["loss"]["alignment"] == "right" and set(shown_config) == {"loss", "count"}
    with using("en"):
        assert reader_table(table, config)[0] is table  # English: Streamlit formats the numbers
