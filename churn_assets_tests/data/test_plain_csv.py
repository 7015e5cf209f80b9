"""The pyarrow fast path for plain CSV files reads exactly what the careful path reads, and
hands every file with something to repair or report back to it."""

from __future__ import annotations

import pandas as pd
import pytest

from churn_assets.data.csv_text import read_csv_strings, read_plain_csv

PLAIN = {
    "missing values": "id,a,b\n1,,x\n2,NA,\n3,null,N/A\n4,\"\",nan\n",
    "quoted delimiters": 'id,name,v\n1,"Smith, J",2\n2,"say ""hi""",3\n',
    "windows line ends": "id,a\r\n1,x\r\n2,y\r\n",
    "blank lines": "id,a\n1,x\n\n2,y\n\n",
    "text kept as text": "id,zip,amount\n001,01234,\" 1,234.50 \"\n002,98765,7\n",
    "unicode": "id,city\n1,Zürich\n2,Kraków\n",
}


@pytest.mark.parametrize("text", PLAIN.values(), ids=PLAIN.keys())
def test_fast_path_reads_what_the_careful_path_reads(text: str) -> None:
    fast = read_plain_csv(text.encode())
    assert fast is not None
    careful, notes = read_csv_strings(text, "x.csv")
    assert notes == []
    pd.testing.assert_frame_equal(fast, careful)
    # missing text is NaN as pandas reads it, never None (str(None) would be 'None')
    assert not any(value is None for column in fast for value in fast[column])


NEEDS_CARE = {
    "short row": "id,a,b\n1,x\n",
    "long row": "id,a\n1,x,y\n",
    "repeated header": "id,a\n1,x\nid,a\n2,y\n",
    "duplicate names": "id,a,a\n1,x,y\n",
    "empty name": "id,,b\n1,x,y\n",
    "header only": "id,a\n",
    "blank first line": "\nid,a\n1,x\n",
}


@pytest.mark.parametrize("text", NEEDS_CARE.values(), ids=NEEDS_CARE.keys())
def test_files_with_something_to_say_go_the_careful_way(text: str) -> None:
    assert read_plain_csv(text.encode()) is None
