"""An Excel workbook (.xlsx) -> a table of strings, through openpyxl (read-only, values only).

Cells are read as text and typed by the same rules as a CSV (``text_types``), so a sheet and
the CSV saved from it give the same frame; the sheet read is reported as a note.
"""

from __future__ import annotations

import io
import zipfile

import pandas as pd

from churn_assets.data.source_errors import SourceError


def _cell_text(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 12 as 12.0; a CSV would say "12"
    return str(value)


def read_xlsx_strings(data: bytes, name: str, sheet: str = "") -> tuple[pd.DataFrame, list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise SourceError(f"{name}: not a valid Excel .xlsx workbook "
                          f"({type(error).__name__}: {str(error)[:120]})") from None
    try:
        names = workbook.sheetnames
        if sheet and sheet not in names:
            raise SourceError(f"{name}: no sheet '{sheet}' (sheets: {', '.join(names)})")
        chosen = sheet or names[0]
        rows = [[_cell_text(v) for v in row]
                for row in workbook[chosen].iter_rows(values_only=True)]
    finally:
        workbook.close()
    rows = [row for row in rows if any(v is not None and str(v).strip() for v in row)]
    if not rows:
        raise SourceError(f"{name}: sheet '{chosen}' is empty")
    header = [str(h) if h is not None else f"column_{i + 1}" for i, h in enumerate(rows[0])]
    frame = pd.DataFrame(rows[1:], columns=header, dtype=object)
    note = f"Excel workbook: sheet '{chosen}' read" + (
        f" (first of {len(names)}: {', '.join(names)})" if len(names) > 1 and not sheet else "")
    return frame, [note]
