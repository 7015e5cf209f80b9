"""Object keys are checked before they become file names, tags or run keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from churn_assets.data.landing_cursor import (
    LandedObject,
    LandingCursor,
    list_local,
    list_s3,
    select_new,
    unsafe_key_reason,
)
from churn_assets_tests.helpers.s3_server import running_s3_server

UNSAFE = {
    "../escape.csv": "'..' path segment",
    "in/../../etc/passwd.csv": "'..' path segment",
    "..": "'..' path segment",
    "/abs/path.csv": "absolute path",
    "C:/Users/x.csv": "absolute path",
    "in\\..\\x.csv": "backslash",
    "in/new\nline.csv": "U+000A",
    "in/nul\x00.csv": "U+0000",
    "in/bell\x07.csv": "U+0007",
    "in/esc\x1b[31m.csv": "U+001B",
    "in/del\x7f.csv": "U+007F",
    "in/rtl\u202ecsv.exe": "U+202E",  # right-to-left override disguises the suffix
    "in/sep\u2028.csv": "U+2028",
    "": "empty",
    "x" * 1025: "longer than 1024",
}
SAFE = ["in/a.csv", "in/sub dir/ü-ñ 2024.csv", "in/a..b.csv", "in/./a.csv", "a//b.csv",
        "in/.hidden.csv", "x" * 1020 + ".csv"]


@pytest.mark.parametrize("key", list(UNSAFE))
def test_unsafe_keys_are_named_with_a_reason(key: str) -> None:
    reason = unsafe_key_reason(key)
    assert reason is not None and UNSAFE[key] in reason


@pytest.mark.parametrize("key", SAFE)
def test_ordinary_keys_are_safe(key: str) -> None:
    assert unsafe_key_reason(key) is None


def test_unsafe_keys_are_ignored_with_reason_and_never_reach_a_run_key() -> None:
    listing = [LandedObject(f"s3://b/{k}", k, "e", 100.0, 10) for k in [*UNSAFE, "in/ok.csv"]]
    selection = select_new(listing, LandingCursor())
    assert [o.key for o in selection.new] == ["in/ok.csv"]
    assert selection.ignored == {"unsafe_key": len(UNSAFE)}
    assert selection.cursor.keys_at_last_modified == {"in/ok.csv"}


def test_local_file_with_a_newline_in_its_name_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "ok.csv").write_text("a\n1\n")
    (tmp_path / "bad\nname.csv").write_text("a\n1\n")
    selection = select_new(list_local(tmp_path), LandingCursor())
    assert [o.key for o in selection.new] == ["ok.csv"]
    assert selection.ignored == {"unsafe_key": 1}


def test_unsafe_s3_keys_on_a_real_endpoint_are_ignored() -> None:
    keys = ["in/ok.csv", "in/../up.csv", "in/tab\there.csv", "in/rtl\u202ecsv.exe"]
    with running_s3_server() as server:
        client = server.client()
        client.create_bucket(Bucket="unsafe-keys")
        for key in keys:
            client.put_object(Bucket="unsafe-keys", Key=key, Body=b"a,b\n1,2\n")
        listed = list(list_s3(client, "unsafe-keys", "in/"))
    assert sorted(o.key for o in listed) == sorted(keys)  # S3 stores them verbatim
    selection = select_new(listed, LandingCursor())
    assert [o.key for o in selection.new] == ["in/ok.csv"]
    assert selection.ignored == {"unsafe_key": 3}
