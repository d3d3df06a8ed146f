"""Google Reader's names as rssmania reads them: item ids, streams, times (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rssmania.web.api.greader_streams import (
    BadRequestError,
    Selection,
    item_id,
    item_ids,
    long_id,
    stream,
    timestamp,
)

LONG = "tag:google.com,2005:reader/item/"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("12", 12),
        (" 12 ", 12),
        (f"{LONG}000000000000000c", 12),
        (f"{LONG}c", 12),
        (f"{LONG}00000000000000C", 12),
        ("TAG:google.com,2005:reader/item/c", 12),
        ("000000000000000c", 12),
        ("c", 12),
        ("0000000000000012", 18),  # 16 digits: hex, as the long form's tail
        ("10", 10),  # short digits: decimal (Liferea sends back what ids gave it)
        ("123456789012345", 123456789012345),
    ],
)
def test_item_id_forms(given: str, expected: int) -> None:
    assert item_id(given) == expected


@pytest.mark.parametrize(
    "given", ["", "x", f"{LONG}", f"{LONG}xyz", "0", f"{LONG}0", "-5", "1.5", "12 13"]
)
def test_what_is_not_an_item_id(given: str) -> None:
    with pytest.raises(BadRequestError):
        item_id(given)


def test_long_ids_round_trip_and_lists_split() -> None:
    assert long_id(12) == f"{LONG}000000000000000c"
    assert item_id(long_id(2**40 + 5)) == 2**40 + 5
    given = ["1,2", f"{LONG}3,{LONG}0000000000000004", "5"]
    assert item_ids(given) == ([1, 2, 3, 4, 5], [])
    assert item_ids(["1", "zz", "2,-3"]) == ([1, 2], ["zz", "-3"])


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("user/-/state/com.google/reading-list", Selection()),
        ("user/7/state/com.google/read", Selection(read=True)),
        ("user/alice/state/com.google/starred", Selection(starred=True)),
        ("user/-/state/com.google/kept-unread", Selection(read=False)),
        ("user//-//state/com.google/read/", Selection(read=True)),
        ("reading-list", Selection()),
        ("user/-/state/com.google/broadcast", Selection(empty=True)),
        ("user/-/label/Tech/Python", Selection(category="Tech/Python")),
        ("feed/42", Selection(feed=42)),
        ("42", Selection(feed=42)),
        ("feed/http://example.org/feed?x=1", Selection(feed_url="http://example.org/feed?x=1")),
        ("feed/https:/example.org/f", Selection(feed_url="https://example.org/f")),
    ],
)
def test_streams(given: str, expected: Selection) -> None:
    assert stream(given, user_id=7, user_name="alice") == expected


@pytest.mark.parametrize(
    "given",
    [
        "user/8/state/com.google/read",
        "user/bob/label/X",
        "pop/-/topic/x",
        "feed/",
        "\u00b2",
        "user/-/state/com.google/nothing",
    ],
)
def test_streams_refused(given: str) -> None:
    with pytest.raises(BadRequestError):
        stream(given, user_id=7, user_name="alice")


def test_filters_narrow_and_exclude() -> None:
    everything = Selection()
    assert everything.excluding(Selection(read=True)) == Selection(read=False)
    assert everything.narrowed(Selection(starred=True)) == Selection(starred=True)
    assert Selection(read=True).excluding(Selection(read=True)).empty
    assert Selection(feed=1).narrowed(Selection(feed=2)).empty
    assert everything.excluding(Selection()).empty
    with pytest.raises(BadRequestError):
        everything.excluding(Selection(feed=3))


@pytest.mark.parametrize(
    "given", ["1700000000", "1700000000000", "1700000000000000", "1700000000.5"]
)
def test_times_in_seconds_milliseconds_or_microseconds(given: str) -> None:
    assert timestamp(given) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.mark.parametrize("given", ["", "soon", "-1", "9" * 30])
def test_what_is_not_a_time(given: str) -> None:
    with pytest.raises(BadRequestError):
        timestamp(given)
