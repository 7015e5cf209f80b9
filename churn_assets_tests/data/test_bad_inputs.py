"""Bad input, table-driven: each case is a real file fed through reading and validation.

Per case the table says what a user gets: a reported coercion (notes), a failure at
ingestion (``SourceError`` naming the file and the problem) or a failing blocking check
whose message names the problem. Every case also proves the input is byte-for-byte unchanged.
The same table is the documentation: docs/bad_inputs.md is rendered from ``CASES``;
regenerate it with ``python -m churn_assets_tests.data.test_bad_inputs``.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import hashlib
import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_assets.data.expectations import run_expectations, summarize_failures
from churn_assets.data.preparation import prepare_customers
from churn_assets.data.sources import SourceError, read_source
from churn_assets.dataset_config import PROJECT_ROOT, DatasetConfig, parse_dataset_config
from churn_assets.generator import generate_customers

DOC = PROJECT_ROOT / "docs" / "bad_inputs.md"
N_ROWS = 240
CONTRACTS = ["Month-to-month", "One year", "Two year"]
CONFIG = {
    "source": "unused.csv", "target": "Churn", "positive_label": "Yes",
    "id_column": "customerID", "model_name": "churn-test",
    "expectations": {
        "min_rows": 100,
        "ranges": {"tenure": [0, 120], "MonthlyCharges": [0, 1000], "TotalCharges": [0, None]},
        "value_sets": {"Contract": CONTRACTS, "Churn": ["Yes", "No"]},
    },
}


def base() -> pd.DataFrame:
    """Clean Telco-like customers: every check passes on these rows as they are."""
    return generate_customers(N_ROWS, seed=5)


def csv(frame: pd.DataFrame, sep: str = ",", **kwargs) -> bytes:
    return frame.to_csv(index=False, sep=sep, **kwargs).encode()


def parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def with_values(column: str, rows: list[int], value, frame: pd.DataFrame | None = None
                ) -> pd.DataFrame:
    frame = base() if frame is None else frame
    frame[column] = frame[column].astype(object)
    frame.loc[rows, column] = value
    return frame


def latin1_names() -> bytes:
    frame = base().assign(surname=[["Müller", "Núñez", "Ørsted", "Smith"][i % 4]
                                   for i in range(N_ROWS)])
    return frame.to_csv(index=False).encode("latin-1")


def cp1252_text() -> bytes:
    frame = base()
    frame["PaymentMethod"] = frame["PaymentMethod"].where(
        frame.index % 3 > 0, "Electronic check € “paperless”")
    return frame.to_csv(index=False).encode("cp1252")


def undecidable_encoding() -> bytes:
    # 0x81, 0x8d and 0x9d: undefined in cp1252, C1 control characters in latin-1.
    return csv(base()).replace(b"Yes", b"\x81\x8d\x9d")


@functools.cache  # a workbook stores the time it was written: build each one once
def xlsx(sheets: tuple[str, ...] = ("customers",)) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet in sheets:
            base().to_excel(writer, sheet_name=sheet, index=False)
    return buffer.getvalue()


def truncated() -> bytes:
    data = csv(base())
    return data[: data.rindex(b",", 0, len(data) - 1) - 10]  # cut mid-row, fields missing


def quoted_newlines() -> bytes:
    comments = ['said "no", then\nyes; | really', "line1\r\nline2", "plain"] * (N_ROWS // 3)
    return csv(base().assign(comment=comments))


def mixed_line_endings() -> bytes:
    lines = csv(base()).decode().splitlines()
    endings = ["\r\n", "\n", "\r"]
    return "".join(line + endings[i % 3] for i, line in enumerate(lines)).encode()


def repeated_header() -> bytes:
    frame = base()
    top, bottom = csv(frame.iloc[:120]), csv(frame.iloc[120:])
    return top + bottom  # the second part starts with its own header: line 122


def thousands() -> bytes:
    frame = base()
    frame["TotalCharges"] = [f"{float(v or 0) * 3:,.2f}" for v in
                             frame["TotalCharges"].replace(" ", "0")]
    return csv(frame)


def decimal_commas() -> bytes:
    frame = base()
    frame["MonthlyCharges"] = frame["MonthlyCharges"].map(lambda v: f"{v:.2f}".replace(".", ","))
    frame["TotalCharges"] = [f"{float(v or 0) * 3:,.2f}".replace(",", "_").replace(".", ",")
                             .replace("_", ".") for v in frame["TotalCharges"].replace(" ", "0")]
    return csv(frame, sep=";")


def numeric_leading_zero_ids() -> bytes:
    return csv(base().assign(customerID=[f"{i:06d}" for i in range(N_ROWS)]))


def wide() -> bytes:
    rng = np.random.default_rng(0)
    extra = pd.DataFrame(rng.normal(size=(N_ROWS, 979)).round(3),
                         columns=[f"signal_{i:03d}" for i in range(979)])
    return csv(pd.concat([base(), extra], axis=1))


def binary_noise() -> bytes:
    return np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()


def xlsx_like() -> bytes:
    return b"PK\x03\x04" + binary_noise()


def one_semicolon_column() -> bytes:
    text = csv(base(), sep=";").decode()
    header, *rows = text.splitlines()
    return parquet(pd.DataFrame({header: rows}))


@dataclass(frozen=True)
class BadInput:
    case: str
    what: str  # the input, in words
    build: Callable[[], bytes]
    suffix: str = ".csv"
    error: str = ""  # substring of the SourceError message; empty if reading succeeds
    notes: tuple[str, ...] = ()  # substrings, each in some coercion note
    failing: dict[str, str] = field(default_factory=dict)  # check -> substring of its message
    s3: bool = False  # also served from a real S3 endpoint
    why: str = ""  # the decision, when it is not obvious

    @property
    def behaviour(self) -> str:
        if self.error:
            return "fails at ingestion"
        if self.failing:
            return "blocked by check " + ", ".join(f"`{name}`" for name in self.failing)
        return "read, with a note" if self.notes else "passes"


CASES = [
    BadInput("clean", "the generated Telco-like table", lambda: csv(base()),
             notes=("column 'TotalCharges': 1 blank value(s) read as missing",), s3=True),
    BadInput("empty_file", "0 bytes", lambda: b"", error="empty file (0 bytes)", s3=True),
    BadInput("whitespace_only", "only blank lines", lambda: b"\n \r\n\n",
             error="empty file (no header, only whitespace)"),
    BadInput("header_only", "the header line, no rows", lambda: csv(base().iloc[:0]),
             error="header only, no data rows (21 columns)"),
    BadInput("one_row", "a single customer", lambda: csv(base().iloc[:1]),
             failing={"min_rows": "1 rows (minimum 100)",
                      "target_labels": "1 distinct value (expected 2): only 'No' (1 row)"}),
    BadInput("utf8_bom", "UTF-8 with a byte-order mark (Excel's 'CSV UTF-8')",
             lambda: codecs.BOM_UTF8 + csv(base()), notes=("UTF-8 byte-order mark removed",)),
    BadInput("utf16", "UTF-16 with a byte-order mark (Excel's 'Unicode text')",
             lambda: base().to_csv(index=False, sep="\t").encode("utf-16"),
             notes=("decoded as UTF-16", "delimiter tab detected")),
    BadInput("semicolon", "';'-delimited", lambda: csv(base(), sep=";"),
             notes=("delimiter ';' detected",), s3=True),
    BadInput("tab", "tab-delimited", lambda: csv(base(), sep="\t"),
             notes=("delimiter tab detected",)),
    BadInput("pipe", "'|'-delimited", lambda: csv(base(), sep="|"),
             notes=("delimiter '|' detected",)),
    BadInput("semicolon_as_one_column", "a Parquet file holding a ';' CSV read as one column",
             one_semicolon_column, suffix=".parquet",
             failing={"required_columns": "the file's delimiter is probably ';'"},
             why="the reader detects delimiters itself; this is the message when a table "
                 "arrives already mis-split"),
    BadInput("extra_columns", "unknown extra columns (free text, a constant)",
             lambda: csv(base().assign(note=[f"call {i}" for i in range(N_ROWS)], source="crm")),
             notes=("'note' not used as a feature: near-unique text",
                    "'source' not used as a feature: constant column")),
    BadInput("missing_target", "no Churn column", lambda: csv(base().drop(columns="Churn")),
             failing={"required_columns": "expect_column_to_exist(Churn): column missing"}),
    BadInput("missing_id", "no customerID column",
             lambda: csv(base().drop(columns="customerID")),
             failing={"required_columns": "expect_column_to_exist(customerID): column missing"}),
    BadInput("duplicate_ids", "two rows share an id",
             lambda: csv(with_values("customerID", [9], base().loc[4, "customerID"])),
             failing={"unique_ids": "2 non-unique values, e.g. "}),
    BadInput("unexpected_label", "the target holds a third value 'Maybe' in 2 rows",
             lambda: csv(with_values("Churn", [4, 8], "Maybe")),
             failing={"target_labels": "unexpected 'Maybe' (2 rows); known labels 'Yes' (",
                      "value_sets": "2 values outside the allowed set, e.g. Maybe (rows 5, 9)"}),
    BadInput("single_class", "every customer has Churn = No",
             lambda: csv(base().assign(Churn="No")),
             failing={"target_labels": f"only 'No' ({N_ROWS} rows)"}),
    BadInput("target_other_case", "the target spelled 'yes'/'no'",
             lambda: csv(base().assign(Churn=lambda f: f["Churn"].str.lower())),
             notes=("value(s) 'yes' read as 'Yes'", "value(s) 'no' read as 'No'"),
             why="the same label in another case or with spaces is one label to any reader; "
                 "spelled the configured way and noted"),
    BadInput("all_null_unconfigured", "a column the config does not name is entirely empty",
             lambda: csv(base().assign(PaperlessBilling=np.nan)),
             notes=("'PaperlessBilling' not used as a feature: every value is missing",)),
    BadInput("all_null_configured", "MonthlyCharges (configured range) entirely empty",
             lambda: csv(base().assign(MonthlyCharges=np.nan)),
             failing={"required_columns": "(MonthlyCharges): every value is missing"}),
    BadInput("text_in_numeric", "tenure holds 'twelve' in 2 rows",
             lambda: csv(with_values("tenure", [2, 6], "twelve")),
             failing={"numeric_columns": "2 value(s) are not numbers, e.g. twelve (rows 3, 7)"}),
    BadInput("negative_tenure", "tenure -3 in one row",
             lambda: csv(with_values("tenure", [10], -3)),
             failing={"value_ranges": "1 values outside [0, 120], e.g. -3 (rows 11)"}),
    BadInput("absurd_configured", "MonthlyCharges 1e9 where the config says [0, 1000]",
             lambda: csv(with_values("MonthlyCharges", [0, 1], 1e9)),
             failing={"value_ranges": "2 values outside [0, 1000], e.g. 1000000000.0 (rows 1, 2)"}),
    BadInput("absurd_unconfigured", "an unconfigured numeric column holds 1e300",
             lambda: csv(base().assign(score=np.r_[np.arange(N_ROWS - 1) / 10.0, 1e300])),
             failing={"value_ranges":
                      f"values outside [-1e+15, 1e+15], e.g. 1e+300 (rows {N_ROWS})"},
             why="no churn feature reaches 1e15; such values are unit or parsing errors"),
    BadInput("latin1", "latin-1 bytes (names with umlauts), not UTF-8", latin1_names,
             notes=("not valid UTF-8 (first bad byte 0xfc", "decoded as latin-1")),
    BadInput("cp1252", "saved by Excel on Windows (cp1252: '€' and curly quotes)", cp1252_text,
             notes=("not valid UTF-8 (first bad byte 0x80", "decoded as cp1252"),
             why="charset-normalizer chooses between cp1252 and latin-1; the text then equals "
                 "the same text arriving as UTF-8 at serving time"),
    BadInput("undecodable", "bytes that neither UTF-8, cp1252 nor latin-1 read cleanly",
             undecidable_encoding,
             error="cannot decode confidently: not valid UTF-8 (first bad byte 0x81"),
    BadInput("xlsx", "an Excel workbook (.xlsx), first sheet", lambda: xlsx(),
             suffix=".xlsx", notes=("Excel workbook: sheet 'customers' read",), s3=True),
    BadInput("xlsx_two_sheets", "an Excel workbook with two sheets, none named in the YAML",
             lambda: xlsx(("2026-01", "2025-12")), suffix=".xlsx",
             notes=("sheet '2026-01' read (first of 2: 2026-01, 2025-12)",)),
    BadInput("xlsx_corrupt", "a .xlsx file cut in half", lambda: xlsx()[:3000],
             suffix=".xlsx", error="not a valid Excel .xlsx workbook"),
    BadInput("truncated_last_line", "the upload stopped mid-row", truncated,
             error=f"rows with too few fields (line {N_ROWS + 1} has",
             why="a short row is a truncated upload or a lost delimiter; reading it would "
                 "pad it with missing values, so it fails with the line number"),
    BadInput("too_many_fields", "an unquoted ',' inside a value",
             lambda: csv(base()).replace(b"Month-to-month", b"Month,to,month", 1),
             error="rows with too many fields (line 2 has 23, expected 21"),
    BadInput("quoted_newlines", "quoted values with newlines, quotes, ';' and '|'",
             quoted_newlines),
    BadInput("gzip", "gzip-compressed CSV named .csv", lambda: gzip.compress(csv(base()), mtime=0),
             notes=("gzip-compressed: decompressed",)),
    BadInput("gzip_suffix", "a .csv.gz object",
             lambda: gzip.compress(csv(base(), sep=";"), mtime=0),
             suffix=".csv.gz", notes=("gzip-compressed", "delimiter ';'"), s3=True),
    BadInput("parquet_text_numbers", "Parquet with tenure stored as text ('12 months')",
             lambda: parquet(base().assign(tenure=lambda f: f["tenure"].astype(str) + " months")),
             suffix=".parquet",
             failing={"numeric_columns": "expect_column_values_to_be_in_type_list(tenure): "
                                         "dtype object: 240 value(s) are not numbers"}),
    BadInput("parquet_integer_ids", "Parquet with the id column stored as integers",
             lambda: parquet(base().assign(customerID=np.arange(N_ROWS) + 1000)),
             suffix=".parquet", notes=("'customerID' is stored as int64", "read as text")),
    BadInput("parquet_corrupt", "Parquet with its last half missing",
             lambda: parquet(base())[:2000], suffix=".parquet", error="not a valid Parquet file"),
    BadInput("binary_as_csv", "random bytes named .csv", binary_noise,
             error="not a text CSV: binary content"),
    BadInput("parquet_as_csv", "a Parquet file named .csv", lambda: parquet(base()),
             error="not a text CSV: the content is a Parquet file"),
    BadInput("xlsx_as_csv", "an Excel workbook named .csv", xlsx_like,
             error="not a text CSV: the content is a zip archive (an Excel .xlsx?)"),
    BadInput("wide", "1,000 columns", wide, notes=()),
    BadInput("long_text_cell", "one 2 MB text cell",
             lambda: csv(with_values("PaymentMethod", [3], "x" * 2_000_000)),
             why="the cell is kept; the rare level is pooled by the model's encoder"),
    BadInput("mixed_line_endings", "\\r\\n, \\n and \\r line endings in one file",
             mixed_line_endings),
    BadInput("repeated_header", "the header repeated in the middle (two exports "
             "concatenated)", repeated_header,
             notes=("repeated header row dropped (1 at line 122)",)),
    BadInput("thousands_separators", "TotalCharges written as \"1,234.50\"", thousands,
             notes=("'TotalCharges': numbers with thousands separators converted",)),
    BadInput("decimal_commas", "';'-delimited with decimal commas (\"29,85\", \"1.234,50\")",
             decimal_commas,
             notes=("delimiter ';'", "'MonthlyCharges': numbers with decimal commas converted",
                    "'TotalCharges': numbers with decimal commas converted")),
    BadInput("leading_zero_ids", "ids such as '000042'", numeric_leading_zero_ids,
             why="read as text because the caller names the id column (`text_columns`); "
                 "any other column with leading zeros is kept as text with a note"),
    BadInput("unknown_contract", "Contract 'Lifetime' in 2 rows",
             lambda: csv(with_values("Contract", [0, 5], "Lifetime")),
             failing={"value_sets": "2 values outside the allowed set, e.g. Lifetime (rows 1, 6)"}),
]


@dataclass(frozen=True)
class DatabaseCase:
    """A bad read from a real PostgreSQL (source: postgresql://..., credentials from env)."""

    case: str
    what: str
    table: str = ""
    query: str = ""
    password: str = "right"  # which password the environment holds
    error: str = ""
    failing: dict[str, str] = field(default_factory=dict)
    why: str = ""

    @property
    def behaviour(self) -> str:
        return BadInput(self.case, self.what, bytes, error=self.error,
                        failing=self.failing).behaviour


DATABASE_CASES = [
    DatabaseCase("db_table", "a PostgreSQL table (source_table)", table="customers"),
    DatabaseCase("db_missing_column", "a table without the Contract column the YAML names",
                 table="no_contract",
                 failing={"required_columns": "expect_column_to_exist(Contract): column missing"}),
    DatabaseCase("db_missing_table", "source_table names no table", table="nobody_here",
                 error='the database refused the read: relation "nobody_here" does not exist'),
    DatabaseCase("db_no_rows", "source_query returns no rows",
                 query="SELECT * FROM customers WHERE tenure < 0", error="no rows (21 columns)"),
    DatabaseCase("db_wrong_password", "the environment holds a wrong password",
                 table="customers", password="wrong",
                 error="cannot connect: connection to server at \"127.0.0.1\", port ",
                 why="refused, not unreachable: no retry; the message never holds the password"),
]
ASSERTIONS_AFTER_READ: dict[str, Callable[[pd.DataFrame], None]] = {
    "cp1252": lambda f: "Electronic check € “paperless”" in set(f["PaymentMethod"])
    or pytest.fail(repr(f["PaymentMethod"].iloc[0])),
    "xlsx": lambda f: f.equals(ingest_frame_of_csv()) or pytest.fail(str(f.dtypes)),
    "utf8_bom": lambda f: f.columns[0] == "customerID" or pytest.fail(f.columns[0]),
    "latin1": lambda f: set(f["surname"]) == {"Müller", "Núñez", "Ørsted", "Smith"}
    or pytest.fail("latin-1 names garbled"),
    "quoted_newlines": lambda f: f["comment"].iloc[0] == 'said "no", then\nyes; | really'
    or pytest.fail(repr(f["comment"].iloc[0])),
    "leading_zero_ids": lambda f: f["customerID"].iloc[42] == "000042"
    or pytest.fail(repr(f["customerID"].iloc[42])),
    "long_text_cell": lambda f: len(f["PaymentMethod"].iloc[3]) == 2_000_000
    or pytest.fail("long cell cut"),
    "thousands_separators": lambda f: f["TotalCharges"].dtype == "float64"
    or pytest.fail(str(f["TotalCharges"].dtype)),
}
ROW_COUNTS = {"mixed_line_endings": N_ROWS, "repeated_header": N_ROWS, "wide": N_ROWS,
              "quoted_newlines": N_ROWS - N_ROWS % 3}


def ingest_frame_of_csv() -> pd.DataFrame:
    """The clean table as read from its CSV: an .xlsx of it must read the same."""
    return prepare_customers(read_source_from_bytes(csv(base())), config()).frame


def read_source_from_bytes(data: bytes) -> pd.DataFrame:
    from churn_assets.data.sources import parse_table

    return parse_table(data, "same.csv", text_columns=("customerID",))[0]


def config() -> DatasetConfig:
    return parse_dataset_config(CONFIG, base_dir=Path("."))


@dataclass(frozen=True)
class Result:
    error: str | None
    notes: tuple[str, ...] = ()
    frame: pd.DataFrame | None = None


def ingest(uri: str, s3_client=None) -> Result:
    """What raw_customers + validated_customers do before the checks."""
    dataset = config()
    try:
        table = read_source(uri, s3_client, text_columns=(dataset.id_column,))
    except SourceError as error:
        return Result(str(error))
    prepared = prepare_customers(table.frame, dataset)
    return Result(None, table.notes + prepared.notes, prepared.frame)


def failing_checks(frame: pd.DataFrame) -> dict[str, str]:
    """What the blocking customer_expectations checks report."""
    dataset = config()
    roles = prepare_customers(frame, dataset).roles
    outcomes = run_expectations(frame, dataset, roles.numeric, roles.categorical)
    return {name: summarize_failures(found) for name, found in outcomes.items()
            if any(not o.success for o in found)}


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def assert_read_outcome(case: BadInput, result: Result, uri: str) -> None:
    if case.error:
        assert result.error is not None, f"{case.case}: expected SourceError, read fine"
        assert case.error in result.error, result.error
        assert uri in result.error  # the message names the file
        assert "\n" not in result.error  # one line
        return
    assert result.error is None, result.error
    for expected in case.notes:
        assert any(expected in note for note in result.notes), (expected, result.notes)
    if case.case in ROW_COUNTS:
        assert len(result.frame) == ROW_COUNTS[case.case]
    if case.case in ASSERTIONS_AFTER_READ:
        ASSERTIONS_AFTER_READ[case.case](result.frame)


def params(cases: list[BadInput]) -> list:
    return [pytest.param(case, id=case.case) for case in cases]


@pytest.mark.parametrize("case", params(CASES))
def test_reading(case: BadInput, tmp_path: Path) -> None:
    path = tmp_path / f"customers{case.suffix}"
    path.write_bytes(case.build())
    before = fingerprint(path)
    result = ingest(str(path))
    assert fingerprint(path) == before
    assert_read_outcome(case, result, str(path))
    assert fingerprint(path) == before


@pytest.mark.slow  # one Great Expectations run per case, about two seconds each
@pytest.mark.parametrize("case", params([c for c in CASES if not c.error]))
def test_validation(case: BadInput, tmp_path: Path) -> None:
    path = tmp_path / f"customers{case.suffix}"
    path.write_bytes(case.build())
    before = fingerprint(path)
    result = ingest(str(path))
    failures = failing_checks(result.frame)
    assert set(failures) == set(case.failing), failures
    for name, expected in case.failing.items():
        assert expected in failures[name], failures[name]
    assert fingerprint(path) == before


@pytest.fixture(scope="module")
def s3_client() -> Iterator:
    from churn_assets_tests.helpers.s3_server import running_s3_server

    with running_s3_server() as server:
        client = server.client()
        client.create_bucket(Bucket="bad-inputs")
        yield client


@pytest.mark.parametrize("case", params([c for c in CASES if c.s3]))
def test_reading_from_s3(case: BadInput, s3_client) -> None:
    key = f"landing/{case.case}/customers{case.suffix}"
    s3_client.put_object(Bucket="bad-inputs", Key=key, Body=case.build())
    before = s3_client.head_object(Bucket="bad-inputs", Key=key)
    result = ingest(f"s3://bad-inputs/{key}", s3_client)
    assert_read_outcome(case, result, f"s3://bad-inputs/{key}")
    after = s3_client.head_object(Bucket="bad-inputs", Key=key)
    assert (after["ETag"], after["LastModified"], after["ContentLength"]) == (
        before["ETag"], before["LastModified"], before["ContentLength"])
    body = s3_client.get_object(Bucket="bad-inputs", Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(case.build()).hexdigest()


def test_the_table_is_large_enough_and_names_unique() -> None:
    assert len(CASES) >= 30
    assert len({c.case for c in CASES}) == len(CASES)


DB_PASSWORD, DB_PASSWORD_VARIABLE = "bad-inputs-pw", "CHURN_BAD_INPUTS_PG_PASSWORD"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    import sqlalchemy as sa

    from churn_assets_tests.helpers.services import running_postgres

    with running_postgres(password=DB_PASSWORD) as port:
        engine = sa.create_engine(f"postgresql://dagster:{DB_PASSWORD}@127.0.0.1:{port}/postgres")
        with engine.begin() as connection:
            base().to_sql("customers", connection, index=False)
            base().drop(columns="Contract").to_sql("no_contract", connection, index=False)
        engine.dispose()
        yield f"postgresql://dagster:${{{DB_PASSWORD_VARIABLE}}}@127.0.0.1:{port}/postgres"



@pytest.mark.parametrize("case", [pytest.param(c, id=c.case) for c in DATABASE_CASES])
def test_reading_from_postgres(case: DatabaseCase, postgres_url: str,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    password = DB_PASSWORD if case.password == "right" else "not-" + DB_PASSWORD
    monkeypatch.setenv(DB_PASSWORD_VARIABLE, password)
    dataset = config()
    try:
        table = read_source(postgres_url, table=case.table, query=case.query,
                            text_columns=(dataset.id_column,))
    except SourceError as error:
        message = str(error)
        assert case.error and case.error in message, message
        assert "\n" not in message and password not in message
        assert "127.0.0.1" in message  # names the source
        if case.password != "right":
            assert "password authentication failed for user" in message, message
        return
    assert not case.error, f"{case.case}: read fine"
    frame = prepare_customers(table.frame, dataset).frame
    failures = failing_checks(frame)
    assert set(failures) == set(case.failing), failures
    for name, expected in case.failing.items():
        assert expected in failures[name], failures[name]


def render_markdown(cases: list[BadInput]) -> str:
    lines = [
        "# Bad input: what happens",
        "",
        "Generated from `churn_assets_tests/data/test_bad_inputs.py` (the test table; "
        "regenerate with `python -m churn_assets_tests.data.test_bad_inputs`). Every case is "
        "a real file read by `raw_customers` and checked by the blocking checks of "
        "`validated_customers`; in every case the input file is left byte-for-byte unchanged. "
        "A case that fails stops the run before any feature, model or registry step. "
        "Row numbers count data rows from 1 (row N is line N+1 of a CSV without "
        "embedded newlines).",
        "",
        "| Case | Input | Behaviour | Message contains | Why |",
        "|---|---|---|---|---|",
    ]
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    for case in cases:
        messages = ([case.error] if case.error else []) + [
            f"`{name}`: {text}" for name, text in case.failing.items()] + list(case.notes)
        where = " (also from S3)" if case.s3 else ""
        lines.append(f"| {case.case}{where} | {cell(case.what)} | {case.behaviour} | "
                     f"{cell('; '.join(messages))} | {cell(case.why)} |")
    lines += ["", "## From a database", "",
              "`source: postgresql://dagster:${PASSWORD_VARIABLE}@host/db` with `source_table:` "
              "or `source_query:`, read from a real PostgreSQL on 127.0.0.1 by "
              "`test_reading_from_postgres`; the password comes from the environment.", "",
              "| Case | Input | Behaviour | Message contains | Why |", "|---|---|---|---|---|"]
    for db in DATABASE_CASES:
        messages = ([db.error] if db.error else []) + [
            f"`{name}`: {text}" for name, text in db.failing.items()]
        lines.append(f"| {db.case} | {cell(db.what)} | {db.behaviour} | "
                     f"{cell('; '.join(messages))} | {cell(db.why)} |")
    return "\n".join(lines) + "\n"


def test_docs_table_matches_the_test_table() -> None:
    assert DOC.read_text() == render_markdown(CASES), (
        "docs/bad_inputs.md is stale: python -m churn_assets_tests.data.test_bad_inputs")


if __name__ == "__main__":
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render_markdown(CASES))
    print(f"wrote {DOC.relative_to(PROJECT_ROOT)} ({len(CASES)} cases)", file=sys.stderr)
