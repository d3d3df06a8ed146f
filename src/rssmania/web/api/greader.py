"""The Google Reader API (the FreshRSS/Inoreader dialect), for apps that sync with it.

    POST /accounts/ClientLogin  Email, Passwd (form or query)  ->  Auth=NAME/SIGNATURE
    every other call: Authorization: GoogleLogin auth=...  ->  user
      /reader/api/0/METHOD       JSON (or "OK" for writes), Library calls only
      /reader/atom/STREAM        the same entries as Atom (newsboat's feedhq source)

Liberal in what it reads (clients disagree): parameters from the query string
and the form alike, repeated or comma-separated; paths with doubled slashes or
under FreshRSS's ``/api/greader.php``; item ids in every form
(greader_streams). What it refuses is logged under ``rssmania.web.api.greader``
with the reason, so that a user can report it.

The ``T`` token of writes guards cookie-based logins against other sites'
forms; this API takes no cookie, so a write without one is accepted, and a
wrong one refused (Google's 401 with ``X-Reader-Google-Bad-Token``, which
clients answer by asking for a new one).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from rssmania import Library
from rssmania.discovery import find_feeds
from rssmania.exceptions import (
    CategoryNotFoundError,
    EntryNotFoundError,
    FeedExistsError,
    FeedNotFoundError,
    InvalidFeedURLError,
)
from rssmania.types import Entry, Feed, FeedError, FeedSummary
from rssmania.web.api import greader_render as render
from rssmania.web.api.greader_request import (
    Caller,
    caller_of,
    client_login,
    edit_token,
    json_response,
    known_prefix,
    log,
    ok,
    refuse,
)
from rssmania.web.api.greader_streams import (
    READING_LIST,
    BadRequestError,
    Selection,
    count,
    item_ids,
    stream,
    timestamp,
)

MAX_IDS = 10_000
MAX_CONTENTS = 1_000

# -- the API's methods -----------------------------------------------------------------

Method = Callable[[Request, Caller, str], Awaitable[Response]]


async def api(request: Request) -> Response:
    if not known_prefix(request):
        return PlainTextResponse("Not Found", status_code=404)
    caller = await caller_of(request)
    if isinstance(caller, Response):
        return caller
    rest = str(request.path_params["rest"]).lstrip("/")
    # stream/contents/STREAM: the stream keeps its slashes (feed/http://...).
    if match := re.match(r"stream/+contents/*", rest):
        return await _guarded(request, caller, stream_contents, rest[match.end() :])
    name = re.sub("/+", "/", rest).strip("/")
    method = _METHODS.get(name)
    if method is None:
        return refuse(request, 404, f"no method {name!r}", caller.user)
    if name in _WRITES and request.method != "POST":
        return refuse(request, 405, f"{name} changes things: POST it", caller.user)
    return await _guarded(request, caller, method, "")


async def _guarded(request: Request, caller: Caller, method: Method, arg: str) -> Response:
    try:
        return await method(request, caller, arg)
    except BadRequestError as exc:
        return refuse(request, 400, str(exc), caller.user)
    except (FeedNotFoundError, CategoryNotFoundError) as exc:
        return refuse(request, 404, f"not found: {exc}", caller.user)
    except (InvalidFeedURLError, ValueError) as exc:
        return refuse(request, 400, str(exc), caller.user)


async def token(request: Request, c: Caller, _: str) -> Response:
    return PlainTextResponse(edit_token(c.auth))


async def user_info(request: Request, c: Caller, _: str) -> Response:
    return json_response(
        {
            "userId": str(c.user.id),
            "userName": c.user.name,
            "userProfileId": str(c.user.id),
            "userEmail": c.user.name,
            "isBloggerUser": False,
            "signupTimeSec": int(c.user.created.timestamp()),
            "isMultiLoginEnabled": False,
        }
    )


async def subscription_list(request: Request, c: Caller, _: str) -> Response:
    feeds = await c.w.run(c.lib.feeds, c.user.id)
    return json_response({"subscriptions": [render.subscription(f) for f in feeds]})


async def tag_list(request: Request, c: Caller, _: str) -> Response:
    categories = await c.w.run(c.lib.category_list, c.user.id)
    tags: list[dict[str, str]] = [{"id": "user/-/state/com.google/starred"}]
    tags += [
        {"id": render.label_id(cat.name), "label": cat.name, "type": "folder"} for cat in categories
    ]
    return json_response({"tags": tags})


async def unread_count(request: Request, c: Caller, _: str) -> Response:
    def both() -> tuple[list[Feed], dict[str, int], int]:
        counts = c.lib.counts(c.user.id)
        return c.lib.feeds(c.user.id), counts.categories, counts.total

    feeds, categories, total = await c.w.run(both)
    newest: dict[str, datetime] = {}
    rows: list[dict[str, object]] = []
    for feed in feeds:
        at = feed.last_new or feed.added
        rows.append(
            {"id": render.feed_stream(feed.id), "count": feed.unread,
             "newestItemTimestampUsec": render.usec(at)}
        )  # fmt: skip
        if feed.category:
            newest[feed.category] = max(newest.get(feed.category, at), at)
    for name, unread in categories.items():
        when = newest.get(name)
        rows.append(
            {"id": render.label_id(name), "count": unread,
             "newestItemTimestampUsec": render.usec(when) if when else "0"}
        )  # fmt: skip
    latest = max((f.last_new or f.added for f in feeds), default=None)
    rows.append(
        {"id": READING_LIST, "count": total,
         "newestItemTimestampUsec": render.usec(latest) if latest else "0"}
    )  # fmt: skip
    return json_response({"max": total, "unreadcounts": rows})


# -- reading streams ----------------------------------------------------------------


class UserFeeds:
    """The user's feeds as streams name them: by id (the light summaries), by URL (the
    full list, read only for a stream that names a feed by its URL). Used on the thread
    pool: it reads the Library."""

    def __init__(self, lib: Library, user: int) -> None:
        self.lib, self.user = lib, user
        self.by_id = {f.id: f for f in lib.feed_summaries(user)}

    def resolved(self, selection: Selection) -> Selection:
        """A feed named by URL as its id; a feed not the user's: FeedNotFoundError."""
        if selection.feed_url is not None:
            url = selection.feed_url
            found = next((f.id for f in self.lib.feeds(self.user) if f.url == url), None)
            if found is None:
                raise FeedNotFoundError(url)
            return replace(selection, feed=found, feed_url=None)
        if selection.feed is not None and selection.feed not in self.by_id:
            raise FeedNotFoundError(f"feed/{selection.feed}")
        return selection


@dataclass(frozen=True)
class Listing:
    selection: Selection
    limit: int
    oldest_first: bool
    after: datetime | None
    before: datetime | None
    page: str | None


def _selection(c: Caller, stream_id: str | None, feeds: UserFeeds) -> Selection:
    def parse(text: str) -> Selection:
        return feeds.resolved(stream(text, user_id=c.user.id, user_name=c.user.name))

    chosen = parse(stream_id or READING_LIST)
    for text in _listed(c.params.all("it")):
        chosen = chosen.narrowed(parse(text))
    for text in _listed(c.params.all("xt")):
        chosen = chosen.excluding(parse(text))
    return chosen


def _listed(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _listing(c: Caller, stream_id: str | None, feeds: UserFeeds, *, most: int) -> Listing:
    ot, nt = c.params.one("ot"), c.params.one("nt")
    return Listing(
        selection=_selection(c, stream_id, feeds),
        limit=count(c.params.one("n"), default=20, most=most),
        oldest_first=(c.params.one("r") or "").strip() == "o",
        after=timestamp(ot) if ot and ot.strip() not in ("", "0") else None,
        before=timestamp(nt) if nt and nt.strip() not in ("", "0") else None,
        page=(c.params.one("c") or "").strip() or None,
    )


@dataclass(frozen=True)
class Read:
    """A stream's page, and the feeds its items name."""

    entries: list[Entry]
    next_page: str | None
    feeds: UserFeeds
    feed: int | None = None
    category: str | None = None


def _read(c: Caller, stream_id: str | None, *, most: int) -> Read:
    """On the thread pool: the request's stream, parsed, resolved and read in one trip."""
    feeds = UserFeeds(c.lib, c.user.id)
    listing = _listing(c, stream_id, feeds, most=most)
    s = listing.selection
    if s.empty:
        return Read([], None, feeds, s.feed, s.category)
    page = c.lib.entries(c.user.id, **_query(listing))
    return Read(list(page.entries), page.next, feeds, s.feed, s.category)


def _refs(c: Caller, stream_id: str | None) -> tuple[list[tuple[int, datetime]], str | None]:
    """On the thread pool: the ids and dates of the stream's page, without the text."""
    listing = _listing(c, stream_id, UserFeeds(c.lib, c.user.id), most=MAX_IDS)
    s = listing.selection
    if s.empty:
        return [], None
    return c.lib.entry_refs(c.user.id, **_query(listing))


def _query(listing: Listing) -> dict[str, Any]:
    """The Library's arguments for a stream's page."""
    s = listing.selection
    return {
        "feed": s.feed,
        "category": s.category,
        "read": s.read,
        "starred": s.starred,
        "after": listing.after,
        "before": listing.before,
        "order": "oldest" if listing.oldest_first else "newest",
        "limit": listing.limit,
        "page": listing.page,
    }


async def stream_items_ids(request: Request, c: Caller, _: str) -> Response:
    refs, next_page = await c.w.run(lambda: _refs(c, c.params.one("s")))
    found: dict[str, object] = {
        "itemRefs": [
            {"id": str(entry_id), "directStreamIds": [], "timestampUsec": render.usec(at)}
            for entry_id, at in refs
        ]
    }
    if next_page:
        found["continuation"] = next_page
    return json_response(found)


async def stream_contents(request: Request, c: Caller, path_stream: str) -> Response:
    stream_id = path_stream or c.params.one("s") or READING_LIST
    read = await c.w.run(lambda: _read(c, stream_id, most=MAX_CONTENTS))
    return json_response(_contents(stream_id, read.entries, read.feeds.by_id, read.next_page))


def _contents(
    stream_id: str, entries: list[Entry], feeds: dict[int, FeedSummary], next_page: str | None
) -> dict[str, object]:
    found: dict[str, object] = {
        "direction": "ltr",
        "id": stream_id,
        "title": "rssmania",
        "self": [{"href": ""}],
        "author": "",
        "updated": int(datetime.now(UTC).timestamp()),
        "items": [render.item(e, feeds.get(e.feed_id)) for e in entries],
    }
    if next_page:
        found["continuation"] = next_page
    return found


def _item_ids(c: Caller) -> list[int]:
    ids, bad = item_ids(c.params.all("i"))
    if bad:
        if not ids:
            raise BadRequestError(f"not item ids: {', '.join(map(repr, bad[:5]))}")
        log.warning("greader: left out what is not an item id for %r: %s",
                    c.user.name, ", ".join(map(repr, bad[:5])))  # fmt: skip
    return ids


async def stream_items_contents(request: Request, c: Caller, _: str) -> Response:
    ids = _item_ids(c)
    if len(ids) > MAX_IDS:
        raise BadRequestError(f"at most {MAX_IDS} items at once")

    def read() -> tuple[list[Entry], dict[int, FeedSummary]]:
        feeds = {f.id: f for f in c.lib.feed_summaries(c.user.id)}
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return [], feeds
        page = c.lib.entries(c.user.id, ids=wanted, limit=len(wanted))
        got = {e.entry_id: e for e in page.entries}
        return [got[i] for i in wanted if i in got], feeds

    entries, feeds = await c.w.run(read)
    if len(entries) < len(set(ids)):
        log.info("greader: %d of %d items asked by %r are not theirs or gone",
                 len(set(ids)) - len(entries), len(set(ids)), c.user.name)  # fmt: skip
    return json_response(_contents(READING_LIST, entries, feeds, None))


# -- changing state -----------------------------------------------------------------


async def edit_tag(request: Request, c: Caller, _: str) -> Response:
    ids = _item_ids(c)
    user = c.user.id
    add = _listed(c.params.all("a"))
    remove = _listed(c.params.all("r"))
    actions: list[Callable[[int, list[int]], int]] = []
    for text, added in [(t, True) for t in add] + [(t, False) for t in remove]:
        s = stream(text, user_id=user, user_name=c.user.name)
        if s.read is not None and s.feed is None and s.category is None and not s.starred:
            # read added, kept-unread removed: read; read removed, kept-unread added: unread
            read = s.read if added else not s.read
            if text.rstrip("/").endswith("tracking-kept-unread"):
                continue  # bookkeeping of Google's; kept-unread says the same
            actions.append(c.lib.mark_read if read else c.lib.mark_unread)
        elif s.starred is not None:
            actions.append(c.lib.star if added else c.lib.unstar)
        elif s.category is not None:
            log.info("greader: labels on items are not kept; ignored %r for %r", text, c.user.name)
        elif not s.empty:
            raise BadRequestError(f"cannot tag items with {text!r}")
    if not ids or not actions:
        return ok()
    await c.w.run(_apply, c.lib, user, ids, actions)
    return ok()


def _apply(
    lib: Library, user: int, ids: list[int], actions: list[Callable[[int, list[int]], int]]
) -> None:
    for action in actions:
        try:
            action(user, ids)
        except EntryNotFoundError:
            # Some ids are gone (pruned) or never were the user's: the others still change.
            mine = [e.entry_id for e in lib.entries(user, ids=ids, limit=len(ids)).entries]
            log.info("greader: %d item ids of %d are not the user's #%d: left alone",
                     len(set(ids)) - len(mine), len(set(ids)), user)  # fmt: skip
            if mine:
                action(user, mine)
            ids = mine


async def mark_all_as_read(request: Request, c: Caller, _: str) -> Response:
    given = stream(c.params.one("s") or READING_LIST, user_id=c.user.id, user_name=c.user.name)
    s = await c.w.run(lambda: UserFeeds(c.lib, c.user.id).resolved(given))
    ts = c.params.one("ts")
    # The newest item the client saw is marked too: "before" is exclusive.
    before = timestamp(ts) + timedelta(microseconds=1) if ts and ts.strip() else None
    if s.starred or s.read or s.empty:
        raise BadRequestError(f"cannot mark the stream {c.params.one('s')!r} read")
    await c.w.run(c.lib.mark_all_read, c.user.id, feed=s.feed, category=s.category, before=before)
    return ok()


# -- changing subscriptions ---------------------------------------------------------------


def _label(text: str, c: Caller) -> str:
    s = stream(text if "/" in text else f"user/-/label/{text}",
               user_id=c.user.id, user_name=c.user.name)  # fmt: skip
    if s.category is None:
        raise BadRequestError(f"not a label: {text!r}")
    return s.category


async def subscription_edit(request: Request, c: Caller, _: str) -> Response:
    action = (c.params.one("ac") or "edit").strip()
    title = c.params.one("t")
    add = [_label(t, c) for t in _listed(c.params.all("a"))]
    remove = [_label(t, c) for t in _listed(c.params.all("r"))]
    streams = c.params.all("s")
    if not streams:
        raise BadRequestError("subscription/edit without a stream (s)")

    def change() -> None:
        feeds = UserFeeds(c.lib, c.user.id)
        for text in streams:
            if action == "subscribe":
                url = text.strip()
                url = url[len("feed/") :] if url.startswith("feed/") else url
                with suppress(FeedExistsError):  # subscribed already: what the client wanted
                    c.lib.add_feed(c.user.id, url, title=title or None,
                                   category=add[0] if add else None)  # fmt: skip
                continue
            s = feeds.resolved(stream(text, user_id=c.user.id, user_name=c.user.name))
            if s.feed is None:
                raise BadRequestError(f"not a feed: {text!r}")
            if action == "unsubscribe":
                c.lib.remove_feed(c.user.id, s.feed)
            elif action == "edit":
                current = feeds.by_id[s.feed].category
                category: str | None = current
                if add:
                    category = add[0]
                elif remove and current in remove:
                    category = None
                if title is not None and title.strip():
                    c.lib.set_feed(c.user.id, s.feed, title=title, category=category)
                elif category != current:
                    c.lib.set_feed(c.user.id, s.feed, category=category)
            else:
                raise BadRequestError(f"unknown action ac={action!r}")

    await c.w.run(change)
    return ok()


async def quickadd(request: Request, c: Caller, _: str) -> Response:
    """A feed's URL, or a site's address: its first feed (as the web reader's "add")."""
    query = (c.params.one("quickadd") or "").strip()
    url = query[len("feed/") :] if query.startswith("feed/") else query
    if not url:
        raise BadRequestError("quickadd without a URL")
    feed = await c.w.run(_followed, c.lib, c.user.id, url)
    if feed is None:
        found = await find_feeds(url, user_agent=c.w.user_agent, refuse_private=c.w.refuse_private)
        if isinstance(found, FeedError) or not found:
            why = found.message if isinstance(found, FeedError) else "no feed there"
            log.warning("greader: quickadd of %r for %r found no feed: %s", url, c.user.name, why)
            return json_response({"numResults": 0, "query": query, "error": why})
        feed = await c.w.run(_subscribe, c.lib, c.user.id, found[0].url)
    return json_response({"numResults": 1, "query": query, "streamId": render.feed_stream(feed.id),
                          "streamName": feed.display_title})  # fmt: skip


def _followed(lib: Library, user: int, url: str) -> Feed | None:
    return next((f for f in lib.feeds(user) if f.url == url), None)


def _subscribe(lib: Library, user: int, url: str) -> Feed:
    try:
        feed = lib.add_feed(user, url)
    except FeedExistsError:  # the site's feed, followed already
        found = _followed(lib, user, url)
        if found is None:
            raise
        return found
    lib.refresh_feed(user, feed.id)
    return feed


async def rename_tag(request: Request, c: Caller, _: str) -> Response:
    old = _label(c.params.one("s", "t") or "", c)
    new = _label(c.params.one("dest") or "", c)
    await c.w.run(c.lib.rename_category, c.user.id, old, new)
    return ok()


async def disable_tag(request: Request, c: Caller, _: str) -> Response:
    name = _label(c.params.one("s", "t") or "", c)
    await c.w.run(c.lib.remove_category, c.user.id, name)
    return ok()


_METHODS: dict[str, Method] = {
    "token": token,
    "user-info": user_info,
    "subscription/list": subscription_list,
    "tag/list": tag_list,
    "unread-count": unread_count,
    "stream/items/ids": stream_items_ids,
    "stream/items/contents": stream_items_contents,
    "edit-tag": edit_tag,
    "mark-all-as-read": mark_all_as_read,
    "subscription/edit": subscription_edit,
    "subscription/quickadd": quickadd,
    "rename-tag": rename_tag,
    "disable-tag": disable_tag,
}
_WRITES = frozenset(
    {"edit-tag", "mark-all-as-read", "subscription/edit", "subscription/quickadd",
     "rename-tag", "disable-tag"}
)  # fmt: skip


# -- the Atom stream of older newsboat versions ---------------------------------------


async def atom(request: Request) -> Response:
    if not known_prefix(request):
        return PlainTextResponse("Not Found", status_code=404)
    caller = await caller_of(request)
    if isinstance(caller, Response):
        return caller
    stream_id = str(request.path_params["rest"]).lstrip("/") or READING_LIST

    async def read(request: Request, c: Caller, arg: str) -> Response:
        found = await c.w.run(lambda: _read(c, arg, most=MAX_CONTENTS))
        feeds = found.feeds.by_id
        title = feeds[found.feed].title if found.feed is not None else found.category or arg
        body = render.atom(title, str(request.url), found.entries, feeds,
                           now=datetime.now(UTC))  # fmt: skip
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    return await _guarded(request, caller, read, stream_id)


def routes() -> list[BaseRoute]:
    """The API's routes, at the root and under FreshRSS's ``/api/greader.php``."""
    both = ["GET", "POST"]
    return [
        Route("/{prefix:path}accounts/ClientLogin", client_login, methods=both),
        Route("/{prefix:path}reader/api/0/{rest:path}", api, methods=both),
        Route("/{prefix:path}reader/atom/{rest:path}", atom, methods=["GET"]),
    ]
