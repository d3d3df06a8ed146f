"""The Miniflux API v1 (``/v1/...``): JSON, integer ids, HTTP Basic or ``X-Auth-Token``.

Objects have Miniflux's shape, with the fields rssmania has no notion of
(scraper rules, proxies...) at their empty values, because clients read
them. A feed with no category is in the category "All", as in Miniflux,
where every feed has one; moving a feed to "All" takes it out of any.
Errors are ``{"error_message": ...}`` with Miniflux's status codes.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from rssmania import (
    Category,
    CategoryExistsError,
    CategoryNotFoundError,
    Entry,
    EntryNotFoundError,
    Feed,
    FeedExistsError,
    FeedNotFoundError,
    InvalidOPMLError,
    InvalidSearchError,
    User,
    __version__,
)
from rssmania.discovery import find_feeds
from rssmania.types import FeedError
from rssmania.web.api.credentials import basic_credentials, by_password, by_token, refuse
from rssmania.web.api.groups import ALL, with_all
from rssmania.web.context import MAX_UPLOAD, web

MAX_LIMIT = 10_000
_TAGS = re.compile(r"<[^>]*>")


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"error_message": message}, status)


Handler = Callable[[Request, User], Awaitable[Response]]


def api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticated, and every expected failure as Miniflux says it."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        user = await _caller(request)
        if user is None:
            refused = _error(401, "Access Unauthorized")
            # Some HTTP stacks send credentials only when challenged.
            refused.headers["WWW-Authenticate"] = 'Basic realm="Restricted"'
            return refused
        try:
            return await handler(request, user)
        except ApiError as exc:
            refuse(request, exc.message)
            return _error(exc.status, exc.message)
        except (FeedNotFoundError, EntryNotFoundError, CategoryNotFoundError):
            return _error(404, "Resource not found")

    return wrapped


async def _caller(request: Request) -> User | None:
    token = (request.headers.get("x-auth-token") or "").strip()
    if token:
        return await by_token(request, token)
    given = basic_credentials(request)
    if given is None:
        refuse(request, "no credentials (HTTP Basic or X-Auth-Token)")
        return None
    return await by_password(request, *given)


# -- objects --------------------------------------------------------------------


def _reading_time(html: str) -> int:
    """Minutes, at Miniflux's 265 words a minute."""
    return math.ceil(len(_TAGS.sub(" ", html).split()) / 265)


def _date(value: datetime | None) -> str:
    return (value or datetime(1970, 1, 1, tzinfo=UTC)).isoformat()


class _Shapes:
    """A request's feeds and categories, to put in the entries and feeds it returns."""

    def __init__(self, user: User, feeds: Iterable[Feed], categories: Iterable[Category]) -> None:
        self.user = user
        self.categories = {c.name: c for c in categories}
        self.category_ids = {c.id: c.name for c in categories}
        self.feeds = {f.id: f for f in feeds}
        self._feed_json: dict[int, dict[str, Any]] = {}

    def category_of(self, name: str | None) -> dict[str, Any]:
        found = self.categories.get(name or ALL) or self.categories.get(ALL)
        return {
            "id": found.id if found else 0,
            "user_id": self.user.id,
            "title": found.name if found else ALL,
            "hide_globally": False,
        }

    def feed(self, feed: Feed) -> dict[str, Any]:
        shaped = self._feed_json.get(feed.id)
        if shaped is None:
            shaped = self._feed_json[feed.id] = {
                "id": feed.id,
                "user_id": self.user.id,
                "feed_url": feed.url,
                "site_url": feed.link or feed.url,
                "title": feed.display_title,
                "checked_at": _date(feed.last_checked),
                "next_check_at": _date(feed.next_check),
                "etag_header": "",
                "last_modified_header": "",
                "parsing_error_message": feed.last_error or "",
                "parsing_error_count": feed.error_count,
                "scraper_rules": "",
                "rewrite_rules": "",
                "crawler": False,
                "blocklist_rules": "",
                "keeplist_rules": "",
                "urlrewrite_rules": "",
                "user_agent": "",
                "cookie": "",
                "username": "",
                "password": "",
                "disabled": feed.disabled_reason is not None,
                "no_media_player": False,
                "ignore_http_cache": False,
                "allow_self_signed_certificates": False,
                "fetch_via_proxy": False,
                "hide_globally": False,
                "apprise_service_urls": "",
                "category": self.category_of(feed.category),
                "icon": {"feed_id": feed.id, "icon_id": 0},
                "description": "",
                "disable_http2": False,
            }
        return shaped

    def entry(self, entry: Entry) -> dict[str, Any]:
        feed = self.feeds.get(entry.feed_id)
        html = entry.content or entry.summary or ""
        return {
            "id": entry.entry_id,
            "user_id": self.user.id,
            "feed_id": entry.feed_id,
            "status": "read" if entry.read else "unread",
            "hash": hashlib.sha256(f"{entry.feed_url}\0{entry.id}".encode()).hexdigest(),
            "title": entry.title or "",
            "url": entry.link or "",
            "comments_url": "",
            "published_at": _date(entry.published or entry.updated or entry.first_seen),
            "created_at": _date(entry.first_seen),
            "changed_at": _date(entry.last_changed),
            "content": html,
            "author": entry.author or "",
            "share_code": "",
            "starred": entry.starred,
            "reading_time": _reading_time(html),
            "enclosures": [
                {
                    "id": entry.entry_id * 1000 + n,
                    "user_id": self.user.id,
                    "entry_id": entry.entry_id,
                    "url": e.href,
                    "mime_type": e.type or "application/octet-stream",
                    "size": e.length or 0,
                    "media_progression": 0,
                }
                for n, e in enumerate(entry.enclosures)
            ],
            "tags": [],
            "feed": self.feed(feed) if feed is not None else None,
        }


async def _shapes(request: Request, user: User) -> _Shapes:
    w = web(request)
    feeds = await w.run(w.library.feeds, user.id)
    categories = await _categories(request, user, feeds)
    return _Shapes(user, feeds, categories)


async def _categories(request: Request, user: User, feeds: list[Feed]) -> list[Category]:
    return await with_all(web(request), user, feeds)


def _category_json(user: User, category: Category, *, counts: bool) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "id": category.id,
        "user_id": user.id,
        "title": category.name,
        "hide_globally": False,
    }
    if counts:
        shaped["feed_count"] = category.feeds
        shaped["total_unread"] = category.unread
    return shaped


# -- request parsing --------------------------------------------------------------


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"the request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body is not a JSON object")
    return data


_NUMBER = re.compile(r"-?[0-9]{1,18}")
_TRUE = ("1", "t", "true")
_FALSE = ("0", "f", "false")


def _number(text: str | None) -> int | None:
    """A whole number as Go's strconv reads one (ASCII digits); None for anything else."""
    if text is None or not _NUMBER.fullmatch(text.strip()):
        return None
    return int(text.strip())


def _id(request: Request, name: str) -> int:
    value = _number(str(request.path_params[name]))
    if value is None or value <= 0:
        raise ApiError(404, "Resource not found")
    return value


def _int_param(request: Request, name: str) -> int | None:
    """A number over 0, or None: Miniflux ignores a bad, empty, zero or negative one
    (its filters apply from 1), and so do its clients, which send 0 for "none"."""
    text = request.query_params.get(name)
    value = _number(text)
    if text is not None and value is None:
        refuse(request, f"{name}={text!r} is not a number: ignored")
    return value if value is not None and value > 0 else None


def _bool_param(request: Request, name: str) -> bool | None:
    """As Go's strconv.ParseBool; anything else is as if not given."""
    text = request.query_params.get(name)
    if text is None:
        return None
    if text.strip().lower() in _TRUE:
        return True
    if text.strip().lower() in _FALSE:
        return False
    return None


def _statuses(request: Request) -> set[str]:
    """``status`` repeated or comma-separated: clients do both."""
    found: set[str] = set()
    for value in request.query_params.getlist("status"):
        found.update(s.strip().lower() for s in value.split(",") if s.strip())
    unknown = found - {"read", "unread", "removed"}
    if unknown:
        raise ApiError(400, f"Invalid status: {', '.join(sorted(unknown))}")
    return found


def _timestamps(request: Request, *names: str) -> list[datetime]:
    found = []
    for name in names:
        value = _int_param(request, name)
        if value is not None:
            try:
                found.append(datetime.fromtimestamp(value, UTC))
            except (OverflowError, OSError, ValueError):
                refuse(request, f"{name}={value} is no time: ignored")
    return found


def _plain_words(text: str) -> str:
    """A search as plain words, each one to be found: for a client's text that
    rssmania's search syntax cannot read (Miniflux reads every text as words)."""
    words = [w.replace('"', "") for w in text.split()]
    return " ".join(f'"{w}"' for w in words if w)


async def _entries(
    request: Request, user: User, *, feed: int | None = None, category: int | None = None
) -> Response:
    w = web(request)
    statuses = _statuses(request)
    if statuses == {"removed"}:
        return _json({"total": 0, "entries": []})
    read = None
    if "read" in statuses and "unread" not in statuses:
        read = True
    elif "unread" in statuses and "read" not in statuses:
        read = False
    limit_text = request.query_params.get("limit")
    given_limit = _number(limit_text)
    if limit_text is not None and given_limit is None:
        refuse(request, f"limit={limit_text!r} is not a number: ignored")
    # No limit given: 100; 0: every entry (Miniflux 2.2), here the most a page holds.
    limit = 100 if given_limit is None or given_limit < 0 else given_limit or MAX_LIMIT
    limit = min(limit, MAX_LIMIT)
    offset = min(max(_number(request.query_params.get("offset")) or 0, 0), 2**31 - 1)
    order = request.query_params.get("order", "published_at")
    # Miniflux's default direction is "asc": apps that page by id leave it out.
    direction = request.query_params.get("direction", "asc").strip().lower() or "asc"
    if direction not in ("asc", "desc"):
        raise ApiError(400, 'Invalid direction value: use "asc" or "desc"')
    sort: Literal["newest", "oldest", "id", "-id"]
    if order == "id":
        sort = "id" if direction == "asc" else "-id"
    else:
        # status, category_title, category_id: by date, which is what people sort by.
        sort = "oldest" if direction == "asc" else "newest"
    shapes = await _shapes(request, user)
    if feed is None:
        feed = _int_param(request, "feed_id")
        if feed is not None and feed not in shapes.feeds:
            raise ApiError(400, "Invalid feed ID.")
    elif feed not in shapes.feeds:
        raise FeedNotFoundError(f"#{feed}")
    if category is None:
        category = _int_param(request, "category_id")
        if category is not None and category not in shapes.category_ids:
            raise ApiError(400, "Invalid category ID.")
    category_name: str | None = None
    if category is not None:
        if category not in shapes.category_ids:
            raise CategoryNotFoundError(f"#{category}")
        name = shapes.category_ids[category]
        category_name = "" if name == ALL else name
    befores = _timestamps(request, "before", "published_before")
    afters = _timestamps(request, "after", "published_after")
    # changed_before/changed_after bound when an entry last changed, which rssmania
    # does not track apart from its content: left out, a sync gets more, never less.
    filters: dict[str, Any] = {
        "feed": feed,
        "category": category_name,
        "read": read,
        "starred": _bool_param(request, "starred"),
        "before": min(befores) if befores else None,
        "after": max(afters) if afters else None,
        "max_id": _int_param(request, "before_entry_id"),
        "min_id": _int_param(request, "after_entry_id"),
    }
    search = (request.query_params.get("search") or "").strip()
    for text in (search, _plain_words(search)) if search else (None,):
        try:
            page = await w.run(
                w.library.entries, user.id, order=sort, limit=limit, offset=offset,
                search=text, **filters,
            )  # fmt: skip
            total = await w.run(w.library.count_entries, user.id, search=text, **filters)
            break
        except InvalidSearchError as exc:
            refuse(request, f"{exc}: searched as plain words")
    else:
        return _json({"total": 0, "entries": []})
    entries = list(page.entries)
    return _json({"total": total, "entries": [shapes.entry(e) for e in entries]})


# -- endpoints ------------------------------------------------------------------


@api
async def me(request: Request, user: User) -> Response:
    return _json(
        {
            "id": user.id,
            "username": user.name,
            "is_admin": False,
            "theme": "system_serif",
            "language": "en_US",
            "timezone": "UTC",
            "entry_sorting_direction": "asc",
            "entry_sorting_order": "published_at",
            "stylesheet": "",
            "google_id": "",
            "openid_connect_id": "",
            "entries_per_page": 100,
            "keyboard_shortcuts": True,
            "show_reading_time": True,
            "entry_swipe": True,
            "gesture_nav": "tap",
            "display_mode": "standalone",
            "default_reading_speed": 265,
            "cjk_reading_speed": 500,
            "default_home_page": "unread",
            "categories_sorting_order": "unread_count",
            "mark_read_on_view": True,
            "media_playback_rate": 1,
            "block_filter_entry_rules": "",
            "keep_filter_entry_rules": "",
            "last_login_at": _date(user.created),
        }
    )


@api
async def version(request: Request, user: User) -> Response:
    # Clients compare this with Miniflux's releases to know which endpoints exist:
    # rssmania speaks those of 2.2.
    return _json(
        {
            "version": "2.2.0",
            "commit": f"rssmania {__version__}",
            "build_date": "",
            "go_version": "",
            "compiler": "rssmania",
            "arch": "",
            "os": "",
        }
    )


@api
async def categories(request: Request, user: User) -> Response:
    w = web(request)
    feeds = await w.run(w.library.feeds, user.id)
    found = await _categories(request, user, feeds)
    counts = bool(_bool_param(request, "counts"))
    return _json([_category_json(user, c, counts=counts) for c in found])


@api
async def create_category(request: Request, user: User) -> Response:
    w = web(request)
    title = _title(await _body(request))
    try:
        made = await w.run(w.library.add_category, user.id, title)
    except CategoryExistsError:
        raise ApiError(400, "This category already exists.") from None
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return _json(_category_json(user, made, counts=False), 201)


@api
async def update_category(request: Request, user: User) -> Response:
    w = web(request)
    category = await w.run(w.library.category, user.id, _id(request, "category_id"))
    data = await _body(request)
    title = _title(data) if "title" in data else category.name
    if title != category.name:
        try:
            await w.run(w.library.category, user.id, title)
        except CategoryNotFoundError:
            pass
        else:
            raise ApiError(400, "This category already exists.")
        try:
            await w.run(w.library.rename_category, user.id, category.name, title)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
    renamed = await w.run(w.library.category, user.id, title)
    return _json(_category_json(user, renamed, counts=False), 201)


@api
async def delete_category(request: Request, user: User) -> Response:
    w = web(request)
    category = await w.run(w.library.category, user.id, _id(request, "category_id"))
    # Its feeds are kept, in "All": a removed category loses no subscription.
    await w.run(w.library.remove_category, user.id, category.name)
    return Response(status_code=204)


def _title(data: dict[str, Any]) -> str:
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ApiError(400, "The title is mandatory.")
    return title.strip()


@api
async def category_feeds(request: Request, user: User) -> Response:
    shapes = await _shapes(request, user)
    wanted = _id(request, "category_id")
    if not any(c.id == wanted for c in shapes.categories.values()):
        raise CategoryNotFoundError(f"#{wanted}")
    return _json(
        [
            shapes.feed(f)
            for f in shapes.feeds.values()
            if shapes.category_of(f.category)["id"] == wanted
        ]
    )


@api
async def category_entries(request: Request, user: User) -> Response:
    return await _entries(request, user, category=_id(request, "category_id"))


@api
async def category_entry(request: Request, user: User) -> Response:
    shapes = await _shapes(request, user)
    entry = await _entry(request, user)
    wanted = _id(request, "category_id")
    feed = shapes.feeds.get(entry.feed_id)
    if feed is None or shapes.category_of(feed.category)["id"] != wanted:
        raise EntryNotFoundError(entry.entry_id)
    return _json(shapes.entry(entry))


@api
async def mark_category_read(request: Request, user: User) -> Response:
    w = web(request)
    shapes = await _shapes(request, user)
    wanted = _id(request, "category_id")
    found = next((c for c in shapes.categories.values() if c.id == wanted), None)
    if found is None:
        raise CategoryNotFoundError(f"#{wanted}")
    category = "" if found.name == ALL else found.name
    await w.run(w.library.mark_all_read, user.id, category=category)
    return Response(status_code=204)


@api
async def feeds(request: Request, user: User) -> Response:
    shapes = await _shapes(request, user)
    return _json([shapes.feed(f) for f in shapes.feeds.values()])


@api
async def feed(request: Request, user: User) -> Response:
    shapes = await _shapes(request, user)
    found = shapes.feeds.get(_id(request, "feed_id"))
    if found is None:
        raise FeedNotFoundError("#")
    return _json(shapes.feed(found))


@api
async def counters(request: Request, user: User) -> Response:
    w = web(request)
    feeds = await w.run(w.library.feeds, user.id)
    totals = await w.run(w.library.entry_totals, user.id)
    unreads = {str(f.id): f.unread for f in feeds if f.unread}
    reads = {str(f.id): totals.get(f.id, 0) - f.unread for f in feeds}
    reads = {k: v for k, v in reads.items() if v > 0}
    return _json({"reads": reads, "unreads": unreads})


@api
async def feed_icon(request: Request, user: User) -> Response:
    w = web(request)
    await w.run(w.library.feed, user.id, _id(request, "feed_id"))
    # rssmania keeps no icons yet: Miniflux answers so for a feed without one.
    raise ApiError(404, "This feed doesn't have any icon")


@api
async def feed_entries(request: Request, user: User) -> Response:
    return await _entries(request, user, feed=_id(request, "feed_id"))


@api
async def feed_entry(request: Request, user: User) -> Response:
    entry = await _entry(request, user)
    if entry.feed_id != _id(request, "feed_id"):
        raise EntryNotFoundError(entry.entry_id)
    shapes = await _shapes(request, user)
    return _json(shapes.entry(entry))


@api
async def mark_feed_read(request: Request, user: User) -> Response:
    w = web(request)
    await w.run(w.library.mark_all_read, user.id, feed=_id(request, "feed_id"))
    return Response(status_code=204)


@api
async def mark_user_read(request: Request, user: User) -> Response:
    if _id(request, "user_id") != user.id:
        raise ApiError(403, "Access Forbidden")
    w = web(request)
    await w.run(w.library.mark_all_read, user.id)
    return Response(status_code=204)


@api
async def refresh_feed(request: Request, user: User) -> Response:
    w = web(request)
    await w.run(w.library.refresh_feed, user.id, _id(request, "feed_id"))
    return Response(status_code=204)


@api
async def refresh_all(request: Request, user: User) -> Response:
    w = web(request)
    for f in await w.run(w.library.feed_summaries, user.id):
        await w.run(w.library.refresh_feed, user.id, f.id)
    return Response(status_code=204)


@api
async def refresh_category(request: Request, user: User) -> Response:
    w = web(request)
    shapes = await _shapes(request, user)
    wanted = _id(request, "category_id")
    if not any(c.id == wanted for c in shapes.categories.values()):
        raise CategoryNotFoundError(f"#{wanted}")
    for f in shapes.feeds.values():
        if shapes.category_of(f.category)["id"] == wanted:
            await w.run(w.library.refresh_feed, user.id, f.id)
    return Response(status_code=204)


async def _category_name(request: Request, user: User, category_id: object) -> str | None:
    """The category a client names by id: None for "All"."""
    if type(category_id) is not int:
        raise ApiError(400, "The category_id is not a number.")
    w = web(request)
    try:
        found = await w.run(w.library.category, user.id, category_id)
    except CategoryNotFoundError:
        raise ApiError(
            400, "This category does not exist or does not belong to this user."
        ) from None
    return None if found.name == ALL else found.name


@api
async def create_feed(request: Request, user: User) -> Response:
    w = web(request)
    data = await _body(request)
    address = data.get("feed_url")
    if not isinstance(address, str) or not address.strip():
        raise ApiError(400, "The feed URL is mandatory.")
    category = None
    if data.get("category_id") not in (None, 0):
        category = await _category_name(request, user, data.get("category_id"))
    found = await find_feeds(
        address.strip(), user_agent=w.user_agent, refuse_private=w.refuse_private
    )
    if isinstance(found, FeedError):
        raise ApiError(400, f"Unable to fetch this feed: {found.message}")
    try:
        made = await w.run(w.library.add_feed, user.id, found[0].url, category=category)
    except FeedExistsError:
        raise ApiError(400, "This feed already exists.") from None
    if isinstance(data.get("disabled"), bool) and data["disabled"]:
        await w.run(w.library.set_feed, user.id, made.id, enabled=False)
    return _json({"feed_id": made.id}, 201)


@api
async def update_feed(request: Request, user: User) -> Response:
    w = web(request)
    feed_id = _id(request, "feed_id")
    current = await w.run(w.library.feed, user.id, feed_id)
    data = await _body(request)
    changes: dict[str, Any] = {}
    if "title" in data:
        title = data["title"]
        if not isinstance(title, str):
            raise ApiError(400, "The title is not text.")
        changes["title"] = title.strip() or None
    if "category_id" in data:
        changes["category"] = await _category_name(request, user, data["category_id"])
    if "disabled" in data and isinstance(data["disabled"], bool):
        changes["enabled"] = not data["disabled"]
    if "feed_url" in data and data["feed_url"] != current.url:
        refuse(request, "changing a feed's URL is not supported; subscribe to the new URL")
    if changes:
        await w.run(w.library.set_feed, user.id, feed_id, **changes)
    shapes = await _shapes(request, user)
    return _json(shapes.feed(shapes.feeds[feed_id]), 201)


@api
async def delete_feed(request: Request, user: User) -> Response:
    w = web(request)
    await w.run(w.library.remove_feed, user.id, _id(request, "feed_id"))
    return Response(status_code=204)


@api
async def entries(request: Request, user: User) -> Response:
    return await _entries(request, user)


async def _entry(request: Request, user: User) -> Entry:
    w = web(request)
    return await w.run(w.library.entry, user.id, _id(request, "entry_id"))


@api
async def entry(request: Request, user: User) -> Response:
    found = await _entry(request, user)
    shapes = await _shapes(request, user)
    return _json(shapes.entry(found))


@api
async def set_status(request: Request, user: User) -> Response:
    w = web(request)
    data = await _body(request)
    ids = data.get("entry_ids")
    status = data.get("status")
    if isinstance(ids, int):
        ids = [ids]
    if (
        not isinstance(ids, list)
        or not ids
        or not all(type(i) is int and 0 < i < 2**63 for i in ids)
    ):
        raise ApiError(400, "The list of entries is required.")
    starred = data.get("starred")
    if status is None and not isinstance(starred, bool):
        raise ApiError(400, "Invalid status.")
    if status is not None and status not in ("read", "unread", "removed"):
        raise ApiError(400, "Invalid status.")
    if starred is not None and not isinstance(starred, bool):
        raise ApiError(400, "Invalid starred value.")
    # An app sends every id it marked, some since gone (retention, an unsubscribed
    # feed): the user's are marked, the others left, as Miniflux does.
    calls = []
    if status == "unread":
        calls.append(w.library.mark_unread)
    elif status is not None:
        # "removed" hides an entry in Miniflux; here it is read (nothing is deleted).
        calls.append(w.library.mark_read)
    if starred is not None:
        calls.append(w.library.star if starred else w.library.unstar)
    for call in calls:
        await w.run(call, user.id, ids, missing_ok=True)
    return Response(status_code=204)


@api
async def toggle_star(request: Request, user: User) -> Response:
    w = web(request)
    found = await _entry(request, user)
    action = w.library.unstar if found.starred else w.library.star
    await w.run(action, user.id, [found.entry_id])
    return Response(status_code=204)


@api
async def export(request: Request, user: User) -> Response:
    w = web(request)
    data = await w.run(w.library.export_opml, user.id)
    return Response(data, media_type="text/x-opml; charset=utf-8")


@api
async def import_opml(request: Request, user: User) -> Response:
    w = web(request)
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_UPLOAD:
            raise ApiError(413, "This OPML file is too big.")
    try:
        await w.run(w.library.import_opml, user.id, data, source="import")
    except InvalidOPMLError as exc:
        raise ApiError(400, str(exc)) from None
    return _json({"message": "Feeds imported successfully"}, 201)


@api
async def discover(request: Request, user: User) -> Response:
    w = web(request)
    data = await _body(request)
    address = data.get("url")
    if not isinstance(address, str) or not address.strip():
        raise ApiError(400, "The URL is mandatory.")
    found = await find_feeds(
        address.strip(), user_agent=w.user_agent, refuse_private=w.refuse_private
    )
    if isinstance(found, FeedError):
        raise ApiError(404, f"No subscription found: {found.message}")
    return _json([{"url": f.url, "title": f.title or f.url, "type": "rss"} for f in found])


@api
async def fetch_content(request: Request, user: User) -> Response:
    # Miniflux fetches the page itself; rssmania gives the content it stored.
    found = await _entry(request, user)
    html = found.content or found.summary or ""
    return _json({"content": html, "reading_time": _reading_time(html)})


@api
async def save_entry(request: Request, user: User) -> Response:
    await _entry(request, user)
    # What Miniflux answers with no third-party service set up: apps know it.
    raise ApiError(400, "no third-party integration enabled")


@api
async def update_entry(request: Request, user: User) -> Response:
    await _entry(request, user)
    raise ApiError(400, "rssmania keeps entries as their feed gave them: no title or content edits")


@api
async def integrations_status(request: Request, user: User) -> Response:
    return _json({"has_integrations": False})


@api
async def unknown(request: Request, user: User) -> Response:
    raise ApiError(404, f"rssmania does not serve {request.method} {request.url.path}")


@api
async def flush_history(request: Request, user: User) -> Response:
    # Miniflux hides read entries here; rssmania's retention removes them in time.
    return Response(status_code=202)


def routes() -> list[BaseRoute]:
    get, put, post, delete = ["GET"], ["PUT"], ["POST"], ["DELETE"]
    return [
        Route("/v1/me", me, methods=get),
        Route("/v1/version", version, methods=get),
        Route("/v1/categories", categories, methods=get),
        Route("/v1/categories", create_category, methods=post),
        Route("/v1/categories/{category_id}", update_category, methods=put),
        Route("/v1/categories/{category_id}", delete_category, methods=delete),
        Route("/v1/categories/{category_id}/feeds", category_feeds, methods=get),
        Route("/v1/categories/{category_id}/entries", category_entries, methods=get),
        Route("/v1/categories/{category_id}/entries/{entry_id}", category_entry, methods=get),
        Route("/v1/categories/{category_id}/mark-all-as-read", mark_category_read, methods=put),
        Route("/v1/categories/{category_id}/refresh", refresh_category, methods=put),
        Route("/v1/feeds", feeds, methods=get),
        Route("/v1/feeds", create_feed, methods=post),
        Route("/v1/feeds/counters", counters, methods=get),
        Route("/v1/feeds/refresh", refresh_all, methods=put),
        Route("/v1/feeds/{feed_id}", feed, methods=get),
        Route("/v1/feeds/{feed_id}", update_feed, methods=put),
        Route("/v1/feeds/{feed_id}", delete_feed, methods=delete),
        Route("/v1/feeds/{feed_id}/icon", feed_icon, methods=get),
        Route("/v1/feeds/{feed_id}/entries", feed_entries, methods=get),
        Route("/v1/feeds/{feed_id}/entries/{entry_id}", feed_entry, methods=get),
        Route("/v1/feeds/{feed_id}/mark-all-as-read", mark_feed_read, methods=put),
        Route("/v1/feeds/{feed_id}/refresh", refresh_feed, methods=put),
        Route("/v1/users/{user_id}/mark-all-as-read", mark_user_read, methods=put),
        Route("/v1/entries", entries, methods=get),
        Route("/v1/entries", set_status, methods=put),
        Route("/v1/entries/{entry_id}", entry, methods=get),
        Route("/v1/entries/{entry_id}/bookmark", toggle_star, methods=put),
        Route("/v1/entries/{entry_id}/star", toggle_star, methods=put),
        Route("/v1/export", export, methods=get),
        Route("/v1/import", import_opml, methods=post),
        Route("/v1/discover", discover, methods=post),
        Route("/v1/entries/{entry_id}", update_entry, methods=put),
        Route("/v1/entries/{entry_id}/fetch-content", fetch_content, methods=get),
        Route("/v1/entries/{entry_id}/save", save_entry, methods=post),
        Route("/v1/integrations/status", integrations_status, methods=get),
        Route("/v1/flush-history", flush_history, methods=["PUT", "DELETE"]),
        # Last: anything else under /v1/ is a JSON 404 (a 401 without credentials).
        Route("/v1/{rest:path}", unknown, methods=["GET", "PUT", "POST", "DELETE", "PATCH"]),
    ]
