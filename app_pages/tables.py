"""Tables in the reader's number format: `show_table` is st.dataframe with German numbers on German pages.

Streamlit formats a NumberColumn in its own (English, or the browser's) convention, whatever the page's
language. On a German page each number column becomes text written the German way (1.000, 0,25, 12,5 %),
by the column's own format, right-aligned as numbers are; English pages keep Streamlit's formatting.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import streamlit as st
from babel.numbers import format_decimal

from app_pages.i18n import current_language, number, percent

_PRINTF = re.compile(r"^%(\+?)(?:\.(\d+))?[df]$")


def cell_text(value, fmt: str | None = None) -> str | None:
    """One number written in the current language by a NumberColumn format ('%.2f', '%+.2f', '%d',
    'localized', 'percent'; none: as many decimals as it has, up to 3); None for a missing value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    value = float(value)
    if fmt == "percent":
        return percent(value, 1)
    match = _PRINTF.match(fmt or "")
    if match:
        text = number(value, int(match.group(2) or 0))
        return ("+" + text if value >= 0 else text) if match.group(1) else text
    if fmt in ("localized", "plain") or value.is_integer():
        return number(value, 0 if value.is_integer() else 2)
    return format_decimal(value, locale=current_language())  # up to 3 decimals: 0,123


def significant(value: float, digits: int = 3) -> str:
    """A number to `digits` significant digits in the reader's format: 0.953 / 0,953, 12.5 / 12,5."""
    text = f"{value:.{digits}g}"
    return text.replace(".", ",") if current_language() == "de" else text


def _format_of(config) -> str | None:
    return ((config or {}).get("type_config") or {}).get("format")


def reader_table(table: pd.DataFrame, column_config: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """The table and column config to show on this page: on German pages, number columns as German text
    (each by its config's format, keeping its label, help and width); on English pages unchanged."""
    config = dict(column_config or {})
    if current_language() == "en":
        return table, config
    out = table.copy()
    for name in table.columns:
        column = table[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            continue
        given = config.get(name) or {}
        out[name] = [cell_text(v, _format_of(given)) for v in column]
        config[name] = st.column_config.TextColumn(
            given.get("label"), help=given.get("help"), width=given.get("width"), alignment="right"
        )
    return out, config


def show_table(
    container, table: pd.DataFrame, column_config: dict | None = None, *, placeholder: str, **kwargs
) -> None:
    """`container.dataframe(table, ...)` with its numbers in the reader's format (reader_table); every
    table says how it marks a missing value (`placeholder`: texts.MISSING; Streamlit's default is "None")."""
    shown, config = reader_table(table, column_config)
    container.dataframe(shown, column_config=config or None, placeholder=placeholder, **kwargs)
