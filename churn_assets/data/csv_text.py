"""Bytes of a CSV file -> text -> a table of strings, tolerating what real exports contain.

Every repair is reported as a human-readable note; anything that cannot be repaired without
guessing (a binary file, a row with too few fields) raises ``SourceError`` naming the file
and the problem. The caller's bytes are never modified.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import sys
import unicodedata
import zlib

import charset_normalizer
import numpy as np
import pandas as pd

from churn_assets.data.source_errors import SourceError

DELIMITERS = (",", ";", "\t", "|")  # ties go to the earlier one
DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
GZIP_MAGIC = b"\x1f\x8b"
# Files people save as .csv by mistake: say what the file is instead of parsing noise.
BINARY_SIGNATURES = {
    b"PAR1": "a Parquet file",
    b"PK\x03\x04": "a zip archive (an Excel .xlsx?)",
    b"\xd0\xcf\x11\xe0": "an old Office file (an Excel .xls?)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"SQLite format 3\x00": "an SQLite database",
}
SNIFF_CHARS = 65536
MAX_CONTROL_SHARE = 0.01  # text exports hold (almost) no control characters besides \t\r\n
MAX_LISTED = 3
# Text that is not UTF-8 is, for churn exports, almost always a Windows or ISO Western
# encoding. charset-normalizer picks among these by how readable each decoding is; left free
# it guesses DOS code pages (cp850) for short Western files, so the candidates are fixed.
LEGACY_ENCODINGS = ("cp1252", "latin_1")
MAX_CHAOS = 0.1  # charset-normalizer's "mess" ratio above which a decoding is not trusted


def _decompress_gzip(data: bytes, name: str) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise SourceError(f"{name}: gzip-compressed but cannot be decompressed ({error})") from None


def _control_share(text: str) -> float:
    sample = text[:SNIFF_CHARS]
    controls = sum(1 for ch in sample if ch not in "\t\r\n" and unicodedata.category(ch) == "Cc")
    return controls / max(len(sample), 1)


def _decode_legacy(data: bytes, name: str, why: str) -> tuple[str, str]:
    """cp1252 or latin-1, whichever charset-normalizer reads cleanly; else a SourceError."""
    matches = charset_normalizer.from_bytes(data, cp_isolation=list(LEGACY_ENCODINGS))
    best = matches.best()
    if best is None or best.chaos > MAX_CHAOS:
        tried = ", ".join(f"{m.encoding} ({m.chaos:.0%} unreadable)" for m in matches)
        raise SourceError(f"{name}: cannot decode confidently: {why}; candidates "
                          f"{tried or ', '.join(LEGACY_ENCODINGS) + ' (none decodes it)'}; "
                          "save the file as UTF-8")
    text = str(best)
    if text == data.decode("latin-1"):  # no byte in 0x80-0x9f: both read it the same
        return text, f"{why}: decoded as latin-1 (cp1252 reads it the same)"
    return text, f"{why}: decoded as cp1252 (Windows Western: € and curly quotes at 0x80-0x9f)"


def decode_csv_bytes(data: bytes, name: str) -> tuple[str, list[str]]:
    """Decompress and decode; notes say what was done (gzip, BOM, encoding fallback)."""
    notes: list[str] = []
    if data.startswith(GZIP_MAGIC):
        data = _decompress_gzip(data, name)
        notes.append("gzip-compressed: decompressed before reading")
        if not data:
            raise SourceError(f"{name}: empty file (0 bytes after gzip decompression)")
    elif name.lower().endswith(".gz"):
        notes.append("named .gz but not gzip-compressed: read as plain text")
    for signature, what in BINARY_SIGNATURES.items():
        if data.startswith(signature):
            raise SourceError(f"{name}: not a text CSV: the content is {what}")
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            notes.append("UTF-16 text (byte-order mark found): decoded as UTF-16")
            return data.decode(encoding, errors="replace"), notes
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
        notes.append("UTF-8 byte-order mark removed from the start of the file")
    if b"\x00" in data[:SNIFF_CHARS]:
        raise SourceError(f"{name}: not a text CSV: binary content (NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        why = f"not valid UTF-8 (first bad byte 0x{data[error.start]:02x} at offset {error.start})"
        text, note = _decode_legacy(data, name, why)
        notes.append(note)
    if _control_share(text) > MAX_CONTROL_SHARE:
        raise SourceError(f"{name}: not a text CSV: binary content (control characters)")
    if not text.strip():
        raise SourceError(f"{name}: empty file (no header, only whitespace)")
    return text, notes


def _count_outside_quotes(line: str, char: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == char and not quoted:
            count += 1
    return count


def detect_delimiter(text: str) -> str:
    """The candidate delimiter that splits the header line most often; ',' if none does."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: _count_outside_quotes(header, d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first of equal counts
    return best if counts[best] else ","


def _listed(lines: list[tuple[int, int]]) -> str:
    shown = ", ".join(f"line {line} has {n}" for line, n in lines[:MAX_LISTED])
    more = len(lines) - MAX_LISTED
    return shown + (f" (and {more} more lines)" if more > 0 else "")


def scan_records(text: str, delimiter: str, name: str) -> tuple[list[str], list[int]]:
    """Header fields and the line numbers of repeated header rows; every record must have as
    many fields as the header. A short record is usually a truncated upload, a long one an
    unquoted delimiter inside a value: either way pandas would shift or pad values silently."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a long text cell is still one cell
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    repeated, short, long = [], [], []
    first_line = 1
    for record in reader:
        line, first_line = first_line, reader.line_num + 1  # where this record started
        if not any(field.strip() for field in record):
            continue  # blank line: pandas skips these too
        if header is None:
            header = record
        elif record == header:
            repeated.append(line)
        elif len(record) != len(header):
            (short if len(record) < len(header) else long).append((line, len(record)))
    assert header is not None  # decode_csv_bytes rejected whitespace-only text
    expected = f"expected {len(header)} like the header"
    if short:
        raise SourceError(f"{name}: rows with too few fields ({_listed(short)}, {expected}); "
                          "a truncated file or line?")
    if long:
        raise SourceError(f"{name}: rows with too many fields ({_listed(long)}, {expected}); "
                          f"an unquoted {DELIMITER_NAMES[delimiter]} inside a value?")
    return header, repeated


def read_csv_strings(text: str, name: str) -> tuple[pd.DataFrame, list[str]]:
    """Parse into a frame of strings (missing values NaN); types are decided afterwards."""
    notes: list[str] = []
    delimiter = detect_delimiter(text)
    if delimiter != ",":
        notes.append(f"delimiter {DELIMITER_NAMES[delimiter]} detected (not ',')")
    header, repeated = scan_records(text, delimiter, name)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, low_memory=False)
    except (pd.errors.ParserError, ValueError) as error:
        raise SourceError(f"{name}: cannot parse as CSV: {str(error).strip()[:200]}") from None
    if repeated:
        is_header = (frame.to_numpy() == pd.Series(header).to_numpy()).all(axis=1)
        frame = frame.loc[~is_header].reset_index(drop=True)
        lines = ", ".join(str(n) for n in repeated[:MAX_LISTED])
        notes.append(f"repeated header row dropped ({len(repeated)} at line {lines})")
    renamed = [c for c in frame.columns if c not in header]
    if renamed:
        notes.append(f"duplicate column names renamed by pandas: {', '.join(map(str, renamed))}")
    return frame, notes


# pandas' default missing-value spellings (pandas._libs.parsers.STR_NA_VALUES), so the fast
# path below reads missing values exactly where pd.read_csv does.
PANDAS_NA_VALUES = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                    "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
                    "nan", "null")


def read_plain_csv(data: bytes) -> pd.DataFrame | None:
    """A plain comma-separated UTF-8 file (no BOM, not compressed: the caller checked) read
    with pyarrow's parser straight from the bytes: the same table of strings as
    ``read_csv_strings`` (missing values NaN) without the decoded text, its StringIO copy and
    the per-record Python scan, which held 1.4 GB and took most of the read at 1M rows.

    None when the careful path must decide: pyarrow refuses the file (a row with another
    number of fields, a newline inside a quoted value, ...), the header is blank, has empty or
    repeated names, or the header row repeats; ``read_csv_strings`` then reads it and says
    what it found, exactly as before."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    first = data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8")
    names = next(csv.reader([first]), [])
    if not names or "" in names or len(set(names)) != len(names):
        return None
    try:
        table = pa_csv.read_csv(io.BytesIO(data), convert_options=pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            null_values=list(PANDAS_NA_VALUES), strings_can_be_null=True,
            quoted_strings_can_be_null=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None
    if table.column_names != names or table.num_rows == 0:
        return None
    with_nulls = [name for name, column in zip(names, table.columns, strict=True)
                  if column.null_count]
    # to_pandas makes one Python string per distinct value of a column (a category column of
    # 10M rows: a handful), where a per-column to_numpy makes one per row (1M rows: 2.1 GB).
    frame = table.to_pandas(deduplicate_objects=True)
    del table
    for name in with_nulls:
        values = frame[name].to_numpy()
        values[pd.isna(values)] = np.nan  # as pandas reads a missing text value (not None)
    first_column = frame[names[0]]
    maybe_header = first_column.eq(names[0]).to_numpy()
    if maybe_header.any() and (frame[maybe_header] == names).all(axis=1).any():
        return None  # a repeated header row: the careful path drops it and says so
    return frame
