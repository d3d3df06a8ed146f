"""Managing subscriptions: add (with discovery), rename, move, pause, refresh, remove;
OPML in and out; the health page of every feed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from rssmania import (
    FeedExistsError,
    FeedNotFoundError,
    InvalidFeedURLError,
    InvalidOPMLError,
)
from rssmania.discovery import find_feeds
from rssmania.types import UNSET, Feed, FeedError, Unset
from rssmania.web.context import MAX_UPLOAD, Viewer, page, path_id, protected, web


@protected
async def feeds_page(request: Request, viewer: Viewer) -> Response:
    w = web(request)
    feeds = await w.run(w.library.feeds, viewer.user.id)
    return page(request, viewer, "feeds.html", feeds=feeds, found=None, message=None, error=None)


async def _feeds_with(request: Request, viewer: Viewer, **context: object) -> Response:
    w = web(request)
    feeds = await w.run(w.library.feeds, viewer.user.id)
    values: dict[str, object] = {"found": None, "message": None, "error": None}
    values.update(context)
    status = 400 if values["error"] else 200
    response = page(request, viewer, "feeds.html", feeds=feeds, **values)
    response.status_code = status
    return response


@protected
async def add_feed(request: Request, viewer: Viewer) -> Response:
    """A feed's URL subscribes at once; a site's address lists the feeds it links to."""
    w = web(request)
    form = await request.form()
    address = str(form.get("url") or "").strip()[:2000]
    category = str(form.get("category") or "").strip()[:500] or None
    if not address:
        return await _feeds_with(request, viewer, error="Give a feed's or a site's address.")
    found = await find_feeds(address, user_agent=w.user_agent, refuse_private=w.refuse_private)
    if isinstance(found, FeedError):
        return await _feeds_with(request, viewer, error=f"{address}: {found.message}")
    if len(found) > 1 and form.get("pick") is None:
        return await _feeds_with(request, viewer, found=found, category=category)
    url = str(form.get("pick") or found[0].url)
    try:
        feed = await w.run(w.library.add_feed, viewer.user.id, url, category=category)
    except FeedExistsError:
        return await _feeds_with(request, viewer, error=f"You follow {url} already.")
    except (InvalidFeedURLError, ValueError) as exc:
        return await _feeds_with(request, viewer, error=str(exc))
    await w.run(w.library.refresh_feed, viewer.user.id, feed.id)
    return await _feeds_with(
        request, viewer, message=f"Subscribed to {feed.url}: its articles come with the next poll."
    )


@protected
async def change_feed(request: Request, viewer: Viewer) -> Response:
    """One form per feed: ``action`` is save, pause, resume, refresh or remove."""
    w = web(request)
    feed_id = path_id(request, "feed_id")
    form = await request.form()
    action = str(form.get("action") or "save")
    if feed_id is None:
        return PlainTextResponse("No such feed.", status_code=404)
    lib = w.library
    try:
        if action == "remove":
            await w.run(lib.remove_feed, viewer.user.id, feed_id)
            return await _feeds_with(request, viewer, message="Unsubscribed.")
        if action == "refresh":
            await w.run(lib.refresh_feed, viewer.user.id, feed_id)
            return await _feeds_with(request, viewer, message="It will be polled in a moment.")
        if action in ("pause", "resume"):
            await w.run(lib.set_feed, viewer.user.id, feed_id, enabled=action == "resume")
            return await _feeds_with(request, viewer, message=f"{action.capitalize()}d.")
        interval_text = str(form.get("interval") or "").strip()
        interval: int | Unset | None = UNSET
        if interval_text == "":
            interval = None
        elif interval_text.isdigit() and len(interval_text) < 10:
            interval = int(interval_text) * 60
        else:
            return await _feeds_with(request, viewer, error="The interval is a number of minutes.")
        await w.run(
            lib.set_feed,
            viewer.user.id,
            feed_id,
            title=str(form.get("title") or "")[:500],
            category=str(form.get("category") or "")[:500],
            interval=interval,
        )
    except FeedNotFoundError:
        return PlainTextResponse("No such feed.", status_code=404)
    except ValueError as exc:
        return await _feeds_with(request, viewer, error=str(exc))
    return await _feeds_with(request, viewer, message="Saved.")


@protected
async def export_opml(request: Request, viewer: Viewer) -> Response:
    data = await web(request).run(web(request).library.export_opml, viewer.user.id)
    return Response(
        data,
        media_type="text/x-opml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="subscriptions.opml"'},
    )


@protected
async def import_opml(request: Request, viewer: Viewer) -> Response:
    w = web(request)
    form = await request.form(max_files=1, max_part_size=MAX_UPLOAD)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return await _feeds_with(request, viewer, error="Choose an OPML file.")
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return await _feeds_with(request, viewer, error="That file is too big for an OPML list.")
    try:
        added, skipped = await w.run(
            w.library.import_opml, viewer.user.id, data, source=upload.filename or "upload"
        )
    except InvalidOPMLError as exc:
        return await _feeds_with(request, viewer, error=str(exc))
    return await _feeds_with(
        request, viewer, message=f"Imported {len(added)} feeds; {len(skipped)} skipped."
    )


@protected
async def health(request: Request, viewer: Viewer) -> Response:
    w = web(request)
    feeds = await w.run(w.library.feeds, viewer.user.id)
    hosts = await w.run(w.library.throttled_hosts)
    show = request.query_params.get("show", "all")
    sort = request.query_params.get("sort", "health")
    now = datetime.now(UTC)
    rows = [f for f in feeds if _shown(f, show, now)]
    rows.sort(key=_sort_key(sort, now))
    by_host: dict[str, list[Feed]] = {}
    for feed in rows:
        by_host.setdefault(_host(feed.url), []).append(feed)
    return page(
        request, viewer, "health.html", rows=rows, hosts=hosts, show=show, sort=sort,
        by_host=by_host, group=request.query_params.get("group") == "host", now=now,
        broken=sum(1 for f in feeds if not f.healthy), total=len(feeds),
    )  # fmt: skip


def _host(url: str) -> str:
    from urllib.parse import urlsplit  # noqa: PLC0415

    return urlsplit(url).hostname or ""


def _shown(feed: Feed, show: str, now: datetime) -> bool:
    if show == "failing":
        return feed.error_count > 0
    if show == "stopped":
        return feed.disabled_reason is not None
    if show == "quiet":  # nothing new for 90 days: a dead blog?
        return feed.last_new is None or (now - feed.last_new).days >= 90
    return True


def _sort_key(sort: str, now: datetime) -> Callable[[Feed], Any]:
    if sort == "title":
        return lambda f: f.display_title.casefold()
    if sort == "last_new":
        return lambda f: f.last_new or datetime.min.replace(tzinfo=UTC)
    if sort == "unchanged":
        return lambda f: -(f.not_modified_ratio or 0.0)
    return lambda f: (f.healthy, -f.error_count, f.display_title.casefold())


@protected
async def bulk(request: Request, viewer: Viewer) -> Response:
    """The health page's bulk actions on the feeds ticked: pause, resume, retry, remove."""
    w = web(request)
    form = await request.form()
    action = str(form.get("action") or "")
    ids = [
        int(v) for v in form.getlist("feed") if isinstance(v, str) and v.isdigit() and len(v) < 19
    ]
    lib = w.library
    calls: dict[str, Callable[[int], Awaitable[object]]] = {
        "pause": lambda i: w.run(lib.set_feed, viewer.user.id, i, enabled=False),
        "resume": lambda i: w.run(lib.set_feed, viewer.user.id, i, enabled=True),
        "retry": lambda i: w.run(lib.refresh_feed, viewer.user.id, i),
        "remove": lambda i: w.run(lib.remove_feed, viewer.user.id, i),
    }
    if action not in calls:
        return PlainTextResponse("Unknown action.", status_code=400)
    for feed_id in ids[:10_000]:
        try:
            await calls[action](feed_id)
        except FeedNotFoundError:
            continue
    return RedirectResponse(
        f"/health?show={request.query_params.get('show', 'all')}", status_code=303
    )
