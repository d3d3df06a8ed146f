"""Google Reader's names, read liberally: item ids, stream ids, times. Pure: no I/O.

Item ids come in three forms (https://github.com/mihaip/google-reader-api,
wiki/ItemId.wiki): decimal ("12"), the long form with 16 hex digits
("tag:google.com,2005:reader/item/000000000000000c"), and that hex without its
prefix, which some clients keep (FreshRSS#2091). A bare id is hex when it has
a letter a-f or is 16 digits long (no entry id reaches 10**15), decimal otherwise:
Liferea sends the decimal ids of ``stream/items/ids`` back as they came
(miniflux/v2#2960).

A stream is what a request reads or marks: ``user/-/state/com.google/...``,
``user/-/label/NAME``, ``feed/ID`` or ``feed/URL``; ``user/-/`` may name the user
by id or name instead of ``-``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

LONG_PREFIX = "tag:google.com,2005:reader/item/"
READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
KEPT_UNREAD = "user/-/state/com.google/kept-unread"

_HEX = re.compile(r"[0-9a-fA-F]{1,16}")
_DECIMAL = re.compile(r"[0-9]{1,19}")
_ID_IN_LIST = re.compile(r"tag:google\.com,2005:reader/item/[0-9a-fA-F]+|[^,\s]+", re.IGNORECASE)
# ASCII digits: str.isdigit() takes "²", which int() refuses.
_FEED_ID = re.compile(r"[0-9]{1,18}")
_SCHEME_SLASH = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*:)/(?=[^/])")
_USER = re.compile(r"user/+([^/]+)/+(state/+com\.google|label)/+(.+)", re.DOTALL)


class BadRequestError(ValueError):
    """A request the API cannot read; its message says what, for the log and the client."""


def long_id(entry_id: int) -> str:
    return f"{LONG_PREFIX}{entry_id:016x}"


def item_id(text: str) -> int:
    """The entry id an item id names, in any of its forms; BadRequestError otherwise."""
    given = text.strip()
    if given.lower().startswith(LONG_PREFIX):
        digits = given[len(LONG_PREFIX) :]
        if not _HEX.fullmatch(digits):
            raise BadRequestError(f"not an item id: {text!r}")
        value = int(digits, 16)
    elif _DECIMAL.fullmatch(given) and len(given) < 16:
        value = int(given)
    elif _HEX.fullmatch(given):
        value = int(given, 16)
    elif given.startswith("-") and _DECIMAL.fullmatch(given[1:]):
        # Google's decimal ids were signed 64-bit: the same bits, read unsigned.
        value = int(given) + 2**64
    else:
        raise BadRequestError(f"not an item id: {text!r}")
    if not 0 < value < 2**63:
        raise BadRequestError(f"no item has the id {text!r}")
    return value


def item_ids(values: list[str]) -> tuple[list[int], list[str]]:
    """The ids of repeated ``i`` parameters, each possibly a comma-separated list; and
    what was not an id (left out: one bad id costs an app none of its marks)."""
    found: list[int] = []
    bad: list[str] = []
    for value in values:
        for part in _ID_IN_LIST.findall(value):
            try:
                found.append(item_id(part))
            except BadRequestError:
                bad.append(part)
    return found, bad


@dataclass(frozen=True)
class Selection:
    """Which of the user's entries a stream (and its ``it``/``xt`` filters) names.

    ``empty``: a stream that exists and holds nothing here (sharing, likes),
    or filters that contradict each other.
    """

    feed: int | None = None
    feed_url: str | None = None
    category: str | None = None
    read: bool | None = None
    starred: bool | None = None
    empty: bool = False

    def narrowed(self, other: Selection) -> Selection:
        out = self
        for name in ("feed", "feed_url", "category", "read", "starred"):
            mine, theirs = getattr(out, name), getattr(other, name)
            if theirs is None:
                continue
            if mine is not None and mine != theirs:
                return replace(out, empty=True)
            out = replace(out, **{name: theirs})
        return replace(out, empty=out.empty or other.empty)

    def excluding(self, other: Selection) -> Selection:
        """Without what ``other`` holds: only states can be excluded (``xt``)."""
        if other.read is not None and other.feed is None and other.category is None:
            return self.narrowed(Selection(read=not other.read))
        if other.starred is not None and other.feed is None and other.category is None:
            return self.narrowed(Selection(starred=not other.starred))
        if other == Selection():  # the reading list: everything goes
            return replace(self, empty=True)
        raise BadRequestError("only states can be excluded (xt), not feeds or labels")


_STATES = {
    "reading-list": Selection(),
    "read": Selection(read=True),
    "starred": Selection(starred=True),
    "kept-unread": Selection(read=False),
    "fresh": Selection(read=False),
    "tracking-kept-unread": Selection(read=False),
    # Sharing and likes: nothing is ever there.
    "broadcast": Selection(empty=True),
    "broadcast-friends": Selection(empty=True),
    "like": Selection(empty=True),
    "created": Selection(empty=True),
}


def stream(text: str, *, user_id: int, user_name: str) -> Selection:
    """What a stream id names; BadRequestError for an id this API does not know."""
    given = text.strip()
    if given.startswith("feed/"):
        rest = given[len("feed/") :]
        if _FEED_ID.fullmatch(rest):
            return Selection(feed=int(rest))
        if not rest:
            raise BadRequestError(f"no feed in the stream {text!r}")
        # In a URL's path the server made "//" one slash (SingleSlashes): "http:/host".
        return Selection(feed_url=_SCHEME_SLASH.sub(r"\1//", rest, count=1))
    if _FEED_ID.fullmatch(given):  # a bare feed id (FreshRSS#3107)
        return Selection(feed=int(given))
    if given in _STATES:  # "reading-list" alone (Fluent Reader, FreshRSS#3389)
        return _STATES[given]
    match = _USER.fullmatch(given.lstrip("/"))
    if match is None:
        raise BadRequestError(f"unknown stream {text!r}")
    who, kind, name = match.groups()
    if who not in ("-", str(user_id), user_name):
        raise BadRequestError(f"the stream {text!r} is another user's")
    if kind == "label":
        return Selection(category=name.strip("/"))
    state = _STATES.get(name.strip("/"))
    if state is None:
        raise BadRequestError(f"unknown state {name!r}")
    return state


def timestamp(text: str) -> datetime:
    """A time given in seconds, milliseconds or microseconds since 1970, told by its size:
    Google's ``ts`` is in microseconds, many clients send seconds."""
    try:
        value = int(text.strip().split(".")[0])
    except ValueError:
        raise BadRequestError(f"not a time: {text!r}") from None
    if value < 0:
        raise BadRequestError(f"not a time: {text!r}")
    if value > 10**14:
        seconds = value / 1_000_000
    elif value > 10**11:
        seconds = value / 1000
    else:
        seconds = float(value)
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, ValueError, OSError):
        raise BadRequestError(f"not a time: {text!r}") from None


def count(text: str | None, *, default: int, most: int) -> int:
    """The ``n`` of a request: at least 1, at most ``most``."""
    if text is None or not text.strip():
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise BadRequestError(f"n must be a whole number, not {text!r}") from None
    return max(1, min(value, most))
