"""Landing listing and cursor: pure selection logic, local folders, and a real moto S3 endpoint."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, EndpointConnectionError

from churn_assets.data import landing_cursor as landing
from churn_assets.data.landing_cursor import (
    LandedObject,
    LandingCursor,
    list_local,
    list_s3,
    parse_landing,
    select_new,
)
from churn_assets_tests.helpers.s3_server import MotoS3Server, running_s3_server


def obj(key: str, t: float, etag: str = "e1", size: int = 10) -> LandedObject:
    return LandedObject(uri=f"s3://bkt/{key}", key=key, etag=etag, last_modified=t, size=size)


def keys(objects: Iterator[LandedObject] | tuple[LandedObject, ...]) -> list[str]:
    return [o.key for o in objects]


# --- select_new ---------------------------------------------------------------------------


def test_initial_cursor_selects_everything_sorted_by_time_then_key() -> None:
    sel = select_new([obj("b.csv", 200), obj("c.csv", 100), obj("a.csv", 200)], LandingCursor())
    assert keys(sel.new) == ["c.csv", "a.csv", "b.csv"]
    assert sel.cursor == LandingCursor(200.0, frozenset({"a.csv", "b.csv"}))
    assert sel.ignored == {}


def test_objects_sharing_a_second_across_two_ticks_are_not_lost() -> None:
    tick1 = select_new([obj("a.csv", 100), obj("b.csv", 100)], LandingCursor())
    # c.csv lands in the same LastModified second, but only after tick 1 listed.
    tick2 = select_new([obj("a.csv", 100), obj("b.csv", 100), obj("c.csv", 100)], tick1.cursor)
    assert keys(tick2.new) == ["c.csv"]
    assert tick2.ignored == {"already_seen": 2}
    assert tick2.cursor == LandingCursor(100.0, frozenset({"a.csv", "b.csv", "c.csv"}))
    tick3 = select_new([obj("a.csv", 100), obj("b.csv", 100), obj("c.csv", 100)], tick2.cursor)
    assert tick3.new == ()


def test_newer_instant_replaces_the_key_set() -> None:
    cursor = LandingCursor(100.0, frozenset({"a.csv", "b.csv"}))
    sel = select_new([obj("a.csv", 100), obj("d.csv", 101)], cursor)
    assert keys(sel.new) == ["d.csv"]
    assert sel.cursor == LandingCursor(101.0, frozenset({"d.csv"}))


def test_deleted_object_does_not_break_next_tick() -> None:
    first = select_new([obj("a.csv", 100), obj("b.csv", 105)], LandingCursor())
    # b.csv, the object the cursor points at, is deleted; a new one arrives.
    second = select_new([obj("a.csv", 100), obj("c.csv", 110)], first.cursor)
    assert keys(second.new) == ["c.csv"]
    assert second.cursor == LandingCursor(110.0, frozenset({"c.csv"}))
    # Everything deleted: nothing new, cursor kept.
    third = select_new([], second.cursor)
    assert third.new == () and third.cursor == second.cursor


def test_reupload_with_new_etag_is_new_again_with_a_new_run_key() -> None:
    first = select_new([obj("a.csv", 100, etag="v1")], LandingCursor())
    second = select_new([obj("a.csv", 130, etag="v2")], first.cursor)
    assert [o.run_key for o in second.new] == ["a.csv:v2"]
    assert first.new[0].run_key == "a.csv:v1"


def test_unchanged_relisting_yields_nothing_and_keeps_cursor() -> None:
    listing = [obj("a.csv", 100), obj("b.parquet", 120)]
    first = select_new(listing, LandingCursor())
    second = select_new(listing, first.cursor)
    assert second.new == ()
    assert second.cursor is first.cursor
    assert second.ignored == {"already_seen": 2}


def test_ignored_reasons_are_counted_and_do_not_move_the_cursor() -> None:
    listing = [
        obj("in/", 500, size=0),
        obj("in/sub/", 500, size=0),
        obj("in/empty.csv", 500, size=0),
        obj("in/.gitkeep", 500, size=0),  # empty wins over suffix
        obj("in/readme.txt", 500),
        obj("in/x.csv.gz", 500),  # gzip-compressed CSV: read like a .csv
        obj("in/old.csv", 50),
        obj("in/UPPER.CSV", 150),
        obj("in/data.Parquet", 160),
    ]
    sel = select_new(listing, LandingCursor(100.0, frozenset()))
    assert keys(sel.new) == ["in/UPPER.CSV", "in/data.Parquet", "in/x.csv.gz"]
    assert sel.ignored == {
        "folder_marker": 2,
        "empty": 2,
        "unsupported_suffix": 1,
        "already_seen": 1,
    }
    assert sel.cursor == LandingCursor(500.0, frozenset({"in/x.csv.gz"}))


def test_cursor_json_round_trip() -> None:
    cursor = LandingCursor(1_700_000_000.123456, frozenset({"b.csv", "a.csv", 'we"ird.csv'}))
    assert LandingCursor.from_json(cursor.to_json()) == cursor
    assert LandingCursor.from_json(LandingCursor().to_json()) == LandingCursor()
    assert LandingCursor.from_json(None) == LandingCursor(0.0, frozenset())
    assert LandingCursor.from_json("  ") == LandingCursor()


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '{"keys_at_last_modified": []}',
        '{"last_modified": "100", "keys_at_last_modified": []}',
        '{"last_modified": true, "keys_at_last_modified": []}',
        '{"last_modified": -1, "keys_at_last_modified": []}',
        '{"last_modified": 100, "keys_at_last_modified": "a.csv"}',
        '{"last_modified": 100, "keys_at_last_modified": [1]}',
    ],
)
def test_malformed_cursor_json_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="malformed landing cursor"):
        LandingCursor.from_json(text)


# --- parse_landing ------------------------------------------------------------------------


def test_parse_landing_s3_and_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_landing("s3://bkt/some/prefix/") == ("s3", "bkt", "some/prefix/")
    assert parse_landing("s3://bkt/some/prefix") == ("s3", "bkt", "some/prefix/")
    assert parse_landing("s3://bkt") == ("s3", "bkt", "")
    assert parse_landing("s3://bkt/") == ("s3", "bkt", "")
    monkeypatch.chdir(tmp_path)
    assert parse_landing("data/landing/") == ("local", str(tmp_path / "data" / "landing"), "")
    assert parse_landing(str(tmp_path)) == ("local", str(tmp_path), "")


@pytest.mark.parametrize("location", ["s3://", "s3:///prefix/", "gs://bkt/x"])
def test_parse_landing_rejects_bad_locations(location: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_landing(location)
    assert repr(location) in str(err.value)


# --- list_local ---------------------------------------------------------------------------


def write(path: Path, data: bytes, mtime: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def test_list_local_recursive_with_md5_etags(tmp_path: Path) -> None:
    big = os.urandom(3 * (1 << 20) + 17)  # several hash chunks
    write(tmp_path / "a.csv", b"id,churn\n1,0\n", 1000.5)
    write(tmp_path / "sub" / "deep" / "big.parquet", big, 2000.0)
    write(tmp_path / ".gitkeep", b"", 500.0)
    listed = {o.key: o for o in list_local(tmp_path)}
    assert sorted(listed) == [".gitkeep", "a.csv", "sub/deep/big.parquet"]
    big_obj = listed["sub/deep/big.parquet"]
    assert big_obj.etag == hashlib.md5(big).hexdigest()
    assert big_obj.size == len(big)
    assert big_obj.uri == str((tmp_path / "sub" / "deep" / "big.parquet").resolve())
    assert big_obj.last_modified == 2000.0
    assert listed["a.csv"].etag == hashlib.md5(b"id,churn\n1,0\n").hexdigest()
    assert listed["a.csv"].last_modified == 1000.5
    sel = select_new(listed.values(), LandingCursor())
    assert keys(sel.new) == ["a.csv", "sub/deep/big.parquet"]
    assert sel.ignored == {"empty": 1}


def test_list_local_newer_than_skips_hashing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "old.csv", b"old", 1000.0)
    write(tmp_path / "same.csv", b"same", 2000.0)
    write(tmp_path / "new.csv", b"new", 3000.0)
    hashed: list[str] = []
    real_md5 = landing._md5_of
    monkeypatch.setattr(landing, "_md5_of", lambda p: hashed.append(p.name) or real_md5(p))
    assert keys(list_local(tmp_path, newer_than=2000.0)) == ["new.csv", "same.csv"]
    assert sorted(hashed) == ["new.csv", "same.csv"]
    assert keys(list_local(tmp_path, newer_than=None)) == ["new.csv", "old.csv", "same.csv"]


def test_list_local_missing_folder_yields_nothing(tmp_path: Path) -> None:
    assert list(list_local(tmp_path / "nope")) == []


def test_local_reupload_changes_etag_and_is_new(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", b"v1", 1000.0)
    first = select_new(list_local(tmp_path), LandingCursor())
    write(path, b"v2", 1001.0)
    second = select_new(list_local(tmp_path, newer_than=first.cursor.last_modified), first.cursor)
    assert [o.run_key for o in second.new] == [f"a.csv:{hashlib.md5(b'v2').hexdigest()}"]


# --- list_s3 against moto's real HTTP server ------------------------------------------------


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoS3Server]:
    with running_s3_server() as server:
        yield server


def test_list_s3_paginates_beyond_1000_keys(s3: MotoS3Server) -> None:
    client = s3.client()
    client.create_bucket(Bucket="paginate-bkt")
    expected = {f"landing/part-{i:04d}.csv" for i in range(1050)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(lambda k: client.put_object(Bucket="paginate-bkt", Key=k, Body=b"x"), expected)
        )
    client.put_object(Bucket="paginate-bkt", Key="landingzone.csv", Body=b"y")  # not in prefix
    calls: list[str] = []
    client.meta.events.register("before-call.s3.ListObjectsV2", lambda **_: calls.append("list"))
    listed = list(list_s3(client, "paginate-bkt", "landing/"))
    assert len(listed) == 1050
    assert {o.key for o in listed} == expected
    assert len(calls) == 2  # two pages of at most 1,000 keys
    assert all(o.uri == f"s3://paginate-bkt/{o.key}" and o.size == 1 for o in listed)


def test_list_s3_etag_and_cursor_ticks(s3: MotoS3Server) -> None:
    client = s3.client()
    client.create_bucket(Bucket="ticks-bkt")
    body = b"customer_id,churn\n1,0\n"
    client.put_object(Bucket="ticks-bkt", Key="in/a.csv", Body=body)
    client.put_object(Bucket="ticks-bkt", Key="in/", Body=b"")
    [listed] = [o for o in list_s3(client, "ticks-bkt", "in/") if o.key == "in/a.csv"]
    head = client.head_object(Bucket="ticks-bkt", Key="in/a.csv")
    assert listed.etag == head["ETag"].strip('"') == hashlib.md5(body).hexdigest()
    assert listed.last_modified == head["LastModified"].timestamp()
    assert listed.last_modified == int(listed.last_modified)  # S3: whole seconds

    tick1 = select_new(list_s3(client, "ticks-bkt", "in/"), LandingCursor())
    assert keys(tick1.new) == ["in/a.csv"] and tick1.ignored == {"folder_marker": 1}
    client.put_object(Bucket="ticks-bkt", Key="in/b.csv", Body=b"b")
    client.delete_object(Bucket="ticks-bkt", Key="in/a.csv")
    tick2 = select_new(list_s3(client, "ticks-bkt", "in/"), tick1.cursor)
    assert keys(tick2.new) == ["in/b.csv"]
    tick3 = select_new(list_s3(client, "ticks-bkt", "in/"), tick2.cursor)
    assert tick3.new == ()


def test_list_s3_unreachable_endpoint_raises_botocore_error(s3: MotoS3Server) -> None:
    no_retry = {"max_attempts": 1, "mode": "standard"}
    client = s3.client(config=Config(connect_timeout=1, read_timeout=2, retries=no_retry))
    client.create_bucket(Bucket="outage-bkt")
    client.put_object(Bucket="outage-bkt", Key="a.csv", Body=b"a")
    s3.stop()
    try:
        with pytest.raises(BotoCoreError) as err:
            list(list_s3(client, "outage-bkt", ""))
        assert isinstance(err.value, EndpointConnectionError)
    finally:
        s3.start()
    # Same port again, and moto kept its state across the restart.
    assert keys(list_s3(client, "outage-bkt", "")) == ["a.csv"]
