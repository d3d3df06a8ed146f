"""The search box: what a person types, parsed into an FTS5 MATCH expression and filters.

Pure: no I/O. The storage layer runs `match` (and `exclude`) against the FTS5 table
`search(title, author, body)` (tokenizer `unicode61 remove_diacritics 2`, so `cafe`
finds `café`) and applies the filters itself.

| You type | You get |
|---|---|
| `python rust` | both words, anywhere (title, author or body) |
| `pyth*` | a word that starts with "pyth" |
| `"a phrase"` | these words, next to each other, in this order |
| `python OR rust` | either; binds tighter than the space: `a b OR c d` is a AND (b OR c) AND d |
| `-word`, `-"a phrase"` | not the entries that have it |
| `author:smith` | in the author only (also `author:"Jane Smith"`, `author:smi*`) |
| `title:python` | in the title only (same forms) |
| `feed:X`, `feed:"My Blog"` | in the feed whose URL or title is X; several `feed:`: any of them |
| `category:Tech/Python` | in that category and its sub-categories; several: any of them |
| `is:unread`, `is:read` | unread, read; `-is:unread` is `is:read` |
| `is:starred`, `is:unstarred` | starred, not starred; `-is:starred` is `is:unstarred` |
| `after:2024-05-01` | dated on or after 2024-05-01 00:00 UTC |
| `before:2024-05-01` | dated before 2024-05-01 00:00 UTC (so not on that day) |
| `after:7d`, `before:7d` | in the last 7 days, older than 7 days (also `12h`, `2w`) |
| `after:2024-05-01T08:00+02:00` | a date and time, which needs its offset (or `Z`) |

Lenient, never an error: prefixes are case-insensitive, `OR` is an operator only in upper
case; an unclosed quote runs to the end; an unknown prefix (`c++:`, `http://x`) and a known
one with nothing after it (`feed:` alone) are plain text; an `OR` without a word on each
side (leading, trailing, doubled, next to a filter or a `-word`) is ignored; a word with no
letter or digit (`++`, `...`) is ignored, as the index drops it. `-before:D` is
`after:D` and `-after:D` is `before:D`; of several `before:` (`after:`), the earliest
(latest) wins. Errors (InvalidSearchError, for people): an unknown `is:` value, a bad date,
`is:read is:unread`, dates that leave no time, `-feed:`, `-category:`, more than
64 terms or 1,000 characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MAX_LENGTH = 1000
MAX_TERMS = 64

_KNOWN_PREFIX = re.compile(r"(feed|category|author|title|is|before|after):", re.IGNORECASE)
# FTS5 reads NUL as the end of the query ("unterminated string"), and sqlite3 cannot bind
# a lone surrogate: both, with the other control characters, are spaces here.
_NOT_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_AGE = re.compile(r"([0-9]{1,9})([hdw])", re.IGNORECASE)
_AGE_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
# is:<value> -> (which flag, its value); "-is:x" flips the value.
_STATES = {
    "unread": ("unread", True),
    "read": ("unread", False),
    "starred": ("starred", True),
    "unstarred": ("starred", False),
}
_DATE_HELP = "use YYYY-MM-DD, a date and time with an offset, or an age such as 7d, 12h or 2w"


class InvalidSearchError(ValueError):
    """The search cannot be understood; ``str()`` is a sentence for people naming the bad part."""


@dataclass(frozen=True)
class SearchQuery:
    """A parsed search: every field must hold (AND); within feeds and categories, any of them."""

    match: str | None
    """FTS5 MATCH expression of the positive terms; None if there are none."""
    exclude: str | None
    """FTS5 MATCH expression of what must be left out (an OR of the -terms); None if none."""
    feeds: tuple[str, ...] = ()
    """Feed URLs or titles, as typed; the caller resolves them."""
    categories: tuple[str, ...] = ()
    """Category paths as typed (``Tech/Python``); the caller adds the sub-categories."""
    unread: bool | None = None
    """True: only unread; False: only read; None: either."""
    starred: bool | None = None
    before: datetime | None = None
    """Aware UTC; dated strictly before it."""
    after: datetime | None = None
    """Aware UTC; dated at or after it."""


@dataclass(frozen=True)
class _Token:
    raw: str  # as typed, for error messages
    negated: bool
    prefix: str | None  # a known prefix, lower case
    value: str
    quoted: bool
    star: bool  # a "*" right after the closing quote


def parse_query(text: str, *, now: datetime) -> SearchQuery:
    """Parse the search syntax above; raise InvalidSearchError for what cannot be understood.

    ``now`` (aware) is the time relative ages (``after:7d``) count back from.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if len(text) > MAX_LENGTH:
        raise InvalidSearchError(
            f"The search is {len(text):,} characters long; at most {MAX_LENGTH:,} are allowed."
        )
    tokens = list(_tokens(_NOT_TEXT.sub(" ", text)))
    count = sum(not _is_or(token) for token in tokens)
    if count > MAX_TERMS:
        raise InvalidSearchError(f"The search has {count} terms; at most {MAX_TERMS} are allowed.")
    groups: list[list[str]] = []  # AND of groups, OR within a group
    excluded: list[str] = []
    feeds: list[str] = []
    categories: list[str] = []
    states: dict[str, dict[bool, str]] = {"unread": {}, "starred": {}}
    bounds: dict[str, list[tuple[datetime, str]]] = {"before": [], "after": []}
    after_word = join = False  # the last token was a positive text term; an OR follows it
    for token in tokens:
        if _is_or(token):
            join = after_word
            continue
        words = False
        if token.prefix in ("feed", "category"):
            if token.negated:
                raise InvalidSearchError(
                    f"{token.raw} cannot be used: a {token.prefix} can be chosen, not left out."
                )
            chosen = feeds if token.prefix == "feed" else categories
            if token.value.strip() not in chosen:
                chosen.append(token.value.strip())
        elif token.prefix == "is":
            flag, wanted = _state(token)
            states[flag].setdefault(wanted != token.negated, token.raw)
        elif token.prefix in ("before", "after"):
            side = token.prefix
            if token.negated:  # not before D is on or after D: the same boundary
                side = "after" if side == "before" else "before"
            bounds[side].append((_when(token, now), token.raw))
        elif (term := _text_term(token)) is None:
            pass
        elif token.negated:
            excluded.append(term)
        else:
            if join and groups:
                groups[-1].append(term)
            else:
                groups.append([term])
            words = True
        after_word, join = words, False
    for raws in states.values():
        if len(raws) > 1:
            raise InvalidSearchError(f"{raws[True]} and {raws[False]} contradict each other.")
    before = min(bounds["before"], default=None)
    after = max(bounds["after"], default=None)
    if before and after and after[0] >= before[0]:
        raise InvalidSearchError(f"{after[1]} and {before[1]} leave no time between them.")
    return SearchQuery(
        match=" AND ".join(g[0] if len(g) == 1 else f"({' OR '.join(g)})" for g in groups) or None,
        exclude=" OR ".join(excluded) or None,
        feeds=tuple(feeds),
        categories=tuple(categories),
        unread=next(iter(states["unread"]), None),
        starred=next(iter(states["starred"]), None),
        before=before[0] if before else None,
        after=after[0] if after else None,
    )


def _tokens(text: str) -> Iterator[_Token]:
    i, end = 0, len(text)
    while i < end:
        if text[i].isspace():
            i += 1
            continue
        start = i
        negated = text[i] == "-" and i + 1 < end and not text[i + 1].isspace()
        i += negated
        prefix = None
        if known := _KNOWN_PREFIX.match(text, i):
            prefix, i = known[1].lower(), known.end()
        quoted = star = False
        if i < end and text[i] == '"':
            close = text.find('"', i + 1)
            close = end if close < 0 else close  # an unclosed quote runs to the end
            value, i, quoted = text[i + 1 : close], close + 1, True
            if i < end and text[i] == "*":
                i, star = i + 1, True
        else:
            j = i
            while j < end and not text[j].isspace() and text[j] != '"':
                j += 1
            value, i = text[i:j], j
        if prefix and not value.strip():
            # "feed:" alone is the word, not a filter on nothing.
            prefix, value, quoted, star = None, text[start + negated : i], False, False
        yield _Token(text[start:i], negated, prefix, value, quoted, star)


def _is_or(token: _Token) -> bool:
    return token.raw == "OR"


def _text_term(token: _Token) -> str | None:
    """The FTS5 expression of a word or phrase; None for one the index would find empty."""
    value, star = token.value, token.star
    if not token.quoted:
        value = value.rstrip("*")
        star = value != token.value
    # The tokenizer drops what has no letter or digit, and an empty FTS5 string matches nothing.
    if not any(c.isalnum() for c in value):
        return None
    # An FTS5 string has no escapes but a doubled quote; every word goes in one, so that
    # nothing typed (AND, NEAR, ^, a column name) is read as an operator.
    term = '"' + value.replace('"', '""') + '"' + (" *" if star else "")
    return f"{token.prefix} : {term}" if token.prefix in ("author", "title") else term


def _state(token: _Token) -> tuple[str, bool]:
    try:
        return _STATES[token.value.strip().lower()]
    except KeyError:
        raise InvalidSearchError(
            f"{token.raw} is not something to search for: "
            "use is:unread, is:read, is:starred or is:unstarred."
        ) from None


def _when(token: _Token, now: datetime) -> datetime:
    value = token.value.strip()
    try:
        if age := _AGE.fullmatch(value):
            return now.astimezone(UTC) - int(age[1]) * _AGE_UNITS[age[2].lower()]
        when = datetime.fromisoformat(value)
        if when.utcoffset() is not None:
            return when.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidSearchError(f"{token.raw} is not a date: {_DATE_HELP}.") from None
    if _DAY.fullmatch(value):
        return when.replace(tzinfo=UTC)
    raise InvalidSearchError(
        f"{token.raw} has no time zone: add one (Z or +02:00), or give a day alone."
    )
