"""The search syntax: parsed values, errors, and what the expressions find in a real FTS5 table."""

from __future__ import annotations

import pickle
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rssmania._search_query import (
    MAX_LENGTH,
    MAX_TERMS,
    InvalidSearchError,
    SearchQuery,
    parse_query,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
MAY_1 = datetime(2024, 5, 1, tzinfo=UTC)


def words(match: str | None, exclude: str | None = None) -> SearchQuery:
    return SearchQuery(match=match, exclude=exclude)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", words(None)),
        ("  \t\n ", words(None)),
        ("python", words('"python"')),
        ("python rust", words('"python" AND "rust"')),
        ("pyth*", words('"pyth" *')),
        ("pyth**", words('"pyth" *')),
        ('"a phrase"', words('"a phrase"')),
        ('"a phrase"*', words('"a phrase" *')),
        ('"an unclosed phrase', words('"an unclosed phrase"')),
        ('say "hi there', words('"say" AND "hi there"')),
        ('a"b', words('"a" AND "b"')),  # a quote starts a phrase, even inside a word
        # OR binds tighter than the space.
        ("a b OR c d", words('"a" AND ("b" OR "c") AND "d"')),
        ("a OR b OR c", words('("a" OR "b" OR "c")')),
        ("python OR rust", words('("python" OR "rust")')),
        # An OR without a word on each side is ignored.
        ("OR a", words('"a"')),
        ("a OR", words('"a"')),
        ("a OR OR b", words('("a" OR "b")')),
        ("OR", words(None)),
        ("a OR -b", words('"a"', '"b"')),
        ("a OR is:unread b", SearchQuery(match='"a" AND "b"', exclude=None, unread=True)),
        ("a ++ OR b", words('"a" AND "b"')),
        # Only upper case OR is an operator; every other FTS5 operator is a word.
        ("a or b", words('"a" AND "or" AND "b"')),
        ("a AND b NOT c", words('"a" AND "AND" AND "b" AND "NOT" AND "c"')),
        ("NEAR(a b)", words('"NEAR(a" AND "b)"')),
        ("^start col:x {a b}:c", words('"^start" AND "col:x" AND "{a" AND "b}:c"')),
        ('"OR"', words('"OR"')),
        ("-OR", words(None, '"OR"')),
        # Exclusions.
        ("-word", words(None, '"word"')),
        ('python -"a phrase" -b*', words('"python"', '"a phrase" OR "b" *')),
        ("- a", words('"a"')),  # a lone dash is no exclusion
        ("--a", words(None, '"-a"')),
        # Column filters.
        ("author:smith", words('author : "smith"')),
        ('AUTHOR:"Jane Smith"', words('author : "Jane Smith"')),
        ("author:smi*", words('author : "smi" *')),
        ('Title:"unclosed', words('title : "unclosed"')),
        ("title:python OR author:smith", words('(title : "python" OR author : "smith")')),
        ("-author:bob", words(None, 'author : "bob"')),
        # Unknown prefixes and empty known ones are text.
        ("c++:", words('"c++:"')),
        ("c++", words('"c++"')),
        ("http://example.org/feed", words('"http://example.org/feed"')),
        ("feeds:x", words('"feeds:x"')),
        ("feed:", words('"feed:"')),
        ("feed: x", words('"feed:" AND "x"')),
        ('feed:""', words('"feed:"""""')),  # the only way a quote reaches a term: doubled
        ("-is:", words(None, '"is:"')),
        # Words the tokenizer would find empty are dropped.
        ("++ ... - * **", words(None)),
        ('""', words(None)),
        ("-++", words(None)),
        # Control characters and lone surrogates are spaces (NUL ends an FTS5 query).
        ("a\x00b\x1fc", words('"a" AND "b" AND "c"')),
        ("a\ud800b", words('"a" AND "b"')),
        ("café", words('"café"')),
        # Feeds and categories: kept as typed, in order, once each.
        (
            'feed:example.org Feed:"My Blog" feed:example.org',
            SearchQuery(match=None, exclude=None, feeds=("example.org", "My Blog")),
        ),
        (
            "rust category:Tech/Python CATEGORY:News",
            SearchQuery(match='"rust"', exclude=None, categories=("Tech/Python", "News")),
        ),
        (
            "feed:https://example.org/feed.xml",
            SearchQuery(match=None, exclude=None, feeds=("https://example.org/feed.xml",)),
        ),
        # States.
        ("is:unread", SearchQuery(match=None, exclude=None, unread=True)),
        ("IS:UNREAD", SearchQuery(match=None, exclude=None, unread=True)),
        ("-is:read", SearchQuery(match=None, exclude=None, unread=True)),
        ("is:read", SearchQuery(match=None, exclude=None, unread=False)),
        ("-is:unread", SearchQuery(match=None, exclude=None, unread=False)),
        ("is:unread is:unread", SearchQuery(match=None, exclude=None, unread=True)),
        ("is:starred", SearchQuery(match=None, exclude=None, starred=True)),
        ("-is:starred", SearchQuery(match=None, exclude=None, starred=False)),
        ("is:unstarred", SearchQuery(match=None, exclude=None, starred=False)),
        ("-is:unstarred", SearchQuery(match=None, exclude=None, starred=True)),
        (
            "is:starred is:read",
            SearchQuery(match=None, exclude=None, unread=False, starred=True),
        ),
        # Dates.
        ("after:2024-05-01", SearchQuery(match=None, exclude=None, after=MAY_1)),
        ("before:2024-05-01", SearchQuery(match=None, exclude=None, before=MAY_1)),
        ("-before:2024-05-01", SearchQuery(match=None, exclude=None, after=MAY_1)),
        ("-after:2024-05-01", SearchQuery(match=None, exclude=None, before=MAY_1)),
        (
            "after:2024-05-01T08:00+02:00",
            SearchQuery(match=None, exclude=None, after=MAY_1 + timedelta(hours=6)),
        ),
        (
            "before:2024-05-01T08:30:00Z",
            SearchQuery(match=None, exclude=None, before=MAY_1 + timedelta(hours=8.5)),
        ),
        (
            'before:"2024-05-01 08:00-01:00"',
            SearchQuery(match=None, exclude=None, before=MAY_1 + timedelta(hours=9)),
        ),
        ("after:7d", SearchQuery(match=None, exclude=None, after=NOW - timedelta(days=7))),
        ("AFTER:12H", SearchQuery(match=None, exclude=None, after=NOW - timedelta(hours=12))),
        ("before:2w", SearchQuery(match=None, exclude=None, before=NOW - timedelta(weeks=2))),
        (
            # The narrowest window wins.
            "after:2024-01-01 after:2024-05-01 before:2025-01-01 before:2024-06-01",
            SearchQuery(
                match=None,
                exclude=None,
                after=MAY_1,
                before=datetime(2024, 6, 1, tzinfo=UTC),
            ),
        ),
        (
            'rust OR go -"hello world" feed:x category:y is:unread is:starred after:1d',
            SearchQuery(
                match='("rust" OR "go")',
                exclude='"hello world"',
                feeds=("x",),
                categories=("y",),
                unread=True,
                starred=True,
                after=NOW - timedelta(days=1),
            ),
        ),
    ],
)
def test_parse(text: str, expected: SearchQuery) -> None:
    assert parse_query(text, now=NOW) == expected


def test_now_in_another_zone_gives_utc() -> None:
    now = NOW.astimezone(timezone(timedelta(hours=-5)))
    after = parse_query("after:1h", now=now).after
    assert after == NOW - timedelta(hours=1)
    assert after is not None
    assert after.utcoffset() == timedelta(0)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_query("x", now=datetime(2026, 1, 1))  # the mistake under test


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "is:unreadd",
            "is:unreadd is not something to search for: "
            "use is:unread, is:read, is:starred or is:unstarred.",
        ),
        ("is:read is:unread", "is:unread and is:read contradict each other."),
        ("is:starred -is:starred", "is:starred and -is:starred contradict each other."),
        ("-is:read is:read", "-is:read and is:read contradict each other."),
        (
            "before:2024-13-01",
            "before:2024-13-01 is not a date: use YYYY-MM-DD, a date and time with an offset, "
            "or an age such as 7d, 12h or 2w.",
        ),
        ("after:yesterday", "after:yesterday is not a date"),
        ("after:7y", "after:7y is not a date"),
        ("after:-7d", "after:-7d is not a date"),
        ("after:999999999w", "after:999999999w is not a date"),
        ("before:9999-12-31T23:00-05:00", "before:9999-12-31T23:00-05:00 is not a date"),
        # Digits of other scripts are not dates, even where Python reads them as numbers.
        (
            "after:\uff12\uff10\uff12\uff14-05-01",
            "after:\uff12\uff10\uff12\uff14-05-01 is not a date",
        ),
        (
            "after:2024-05-01T08:00",
            "after:2024-05-01T08:00 has no time zone: add one (Z or +02:00), or give a day alone.",
        ),
        (
            "after:2024-05-02 before:2024-05-01",
            "after:2024-05-02 and before:2024-05-01 leave no time between them.",
        ),
        (
            "after:2024-05-01 before:2024-05-01",
            "after:2024-05-01 and before:2024-05-01 leave no time between them.",
        ),
        ("-feed:x", "-feed:x cannot be used: a feed can be chosen, not left out."),
        (
            '-category:"Tech News"',
            '-category:"Tech News" cannot be used: a category can be chosen, not left out.',
        ),
        (
            "x" * (MAX_LENGTH + 1),
            "The search is 1,001 characters long; at most 1,000 are allowed.",
        ),
        (
            " ".join(["w"] * (MAX_TERMS + 1)),
            "The search has 65 terms; at most 64 are allowed.",
        ),
        (
            " ".join(["is:read"] * (MAX_TERMS + 1)),
            "The search has 65 terms; at most 64 are allowed.",
        ),
    ],
)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(InvalidSearchError) as info:
        parse_query(text, now=NOW)
    assert str(info.value).startswith(message)


def test_error_pickles() -> None:
    with pytest.raises(InvalidSearchError) as info:
        parse_query("is:nope", now=NOW)
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is InvalidSearchError
    assert str(copy) == str(info.value)


def test_limits_are_inclusive() -> None:
    assert parse_query("x" * MAX_LENGTH, now=NOW).match is not None
    many = parse_query(" OR ".join(f"w{i}*" for i in range(MAX_TERMS)), now=NOW)
    assert matching(many) == set()  # the longest expression is still valid FTS5


# The FTS5 table the storage layer searches, with rows that tell the queries apart.
ROWS = [
    (1, "Python tips", "Jane Smith", "the quick brown fox"),
    (2, "Rust news", "Bob Jones", "a café in Paris"),
    (3, "Pythonic code", "Smith Bob", "quick brown dogs and the fox"),
    (4, "Go and C++", "Ann Lee", "brown quick fox; python fans say bob"),
]


@cache
def database() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute(
        "CREATE VIRTUAL TABLE search USING fts5("
        'title, author, body, tokenize="unicode61 remove_diacritics 2")'
    )
    db.executemany("INSERT INTO search (rowid, title, author, body) VALUES (?, ?, ?, ?)", ROWS)
    return db


def matching(query: SearchQuery) -> set[int]:
    """The rowids the storage layer would find: match, minus what exclude matches."""
    sql = "SELECT rowid FROM search WHERE 1"
    params = []
    if query.match is not None:
        sql += " AND search MATCH ?"
        params.append(query.match)
    if query.exclude is not None:
        sql += " AND rowid NOT IN (SELECT rowid FROM search WHERE search MATCH ?)"
        params.append(query.exclude)
    return {rowid for (rowid,) in database().execute(sql, params)}


@pytest.mark.parametrize(
    ("text", "rowids"),
    [
        ("", {1, 2, 3, 4}),
        ("python", {1, 4}),
        ("PYTHON", {1, 4}),
        ("pyth*", {1, 3, 4}),
        ("pythonic", {3}),
        ("cafe", {2}),  # diacritics are removed on both sides
        ("CAFÉ", {2}),
        ('"quick brown"', {1, 3}),
        ('"quick brown fox"', {1}),
        ('"brown fox', {1}),
        ("quick brown fox", {1, 3, 4}),
        ("python OR rust", {1, 2, 4}),
        ("brown python OR rust", {1, 4}),
        ("rust OR dogs brown", {3}),
        ("brown -python", {3}),
        ('-"quick brown"', {2, 4}),
        ("-python -rust", {3}),
        ("-pyth*", {2}),
        ("bob", {2, 3, 4}),
        ("author:bob", {2, 3}),
        ("-author:bob", {1, 4}),
        ('author:"smith bob"', {3}),
        ('author:"bob smith"', set()),
        ("author:jo*", {2}),
        ("title:python", {1}),
        ("title:python OR author:bob", {1, 2, 3}),
        ("c++", {4}),
        ("c++:", {4}),
        ("quick AND fox", {3, 4}),  # AND typed is a word: "and" is in rows 3 and 4
        ("NEAR(quick fox)", set()),
        ("++", {1, 2, 3, 4}),
    ],
)
def test_fts_finds(text: str, rowids: set[int]) -> None:
    assert matching(parse_query(text, now=NOW)) == rowids


# Pieces that stress the tokenizer and FTS5: operators, quotes, prefixes, column syntax.
PIECES = st.sampled_from(
    [
        " ",
        '"',
        "-",
        "*",
        ":",
        "OR",
        "AND",
        "NOT",
        "NEAR(",
        ")",
        "(",
        "{",
        "}",
        "^",
        "+",
        "feed:",
        "author:",
        "Title:",
        "is:",
        "read",
        "unread",
        "starred",
        "before:",
        "after:",
        "2024-05-01",
        "7d",
        "T08:00Z",
        "x",
        "é",
        "\x00",
    ]
)


TYPED = st.one_of(
    st.text(max_size=120), st.lists(st.one_of(PIECES, st.text(max_size=3))).map("".join)
)


@settings(max_examples=400, deadline=None)
@given(TYPED)
def test_anything_typed_is_an_error_or_valid_fts5(text: str) -> None:
    try:
        query = parse_query(text, now=NOW)
    except InvalidSearchError:
        return
    matching(query)  # raises sqlite3.OperationalError on an invalid expression
    for when in (query.before, query.after):
        assert when is None or when.utcoffset() == timedelta(0)
