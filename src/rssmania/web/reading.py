"""Reading pages: the lists (unread, all, starred, a feed, a category, a search) and articles.

Each handler parses the request, calls the Library on the thread pool, renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from rssmania import (
    EntryNotFoundError,
    FeedNotFoundError,
    FeedSummary,
    InvalidSearchError,
    Page,
)
from rssmania.web.context import Viewer, page, path_id, protected, web

PAGE_SIZE = 50


@dataclass
class Folder:
    name: str
    path: str
    unread: int = 0
    open: bool = False
    """Its feeds are listed: the folder in view, or one above it (2,000 feeds listed on
    every page were a third of its time, and no one scrolls through them)."""
    folders: dict[str, Folder] = field(default_factory=dict)
    feeds: list[FeedSummary] = field(default_factory=list)


def tree(feeds: list[FeedSummary], view: View) -> Folder:
    """Feeds in their nested categories, each folder with its unread count."""
    root = Folder("", "", open=True)
    shown = next((f.category for f in feeds if f.id == view.feed), None) or view.category or ""
    for feed in feeds:
        folder = root
        if feed.category:
            parts = feed.category.split("/")
            for depth, part in enumerate(parts, start=1):
                path = "/".join(parts[:depth])
                if part not in folder.folders:
                    is_open = shown == path or shown.startswith(path + "/")
                    folder.folders[part] = Folder(part, path, open=is_open)
                folder = folder.folders[part]
                folder.unread += feed.unread
        folder.feeds.append(feed)
    root.unread = sum(f.unread for f in feeds)
    return root


@dataclass(frozen=True)
class View:
    """What a list shows, from the query string; ``link`` writes it back."""

    show: Literal["unread", "all", "starred"] = "unread"
    feed: int | None = None
    category: str | None = None
    q: str | None = None

    @classmethod
    def of(cls, request: Request) -> View:
        params = request.query_params
        show = params.get("show", "unread")
        feed = params.get("feed")
        return cls(
            show=show if show in ("unread", "all", "starred") else "unread",  # type: ignore[arg-type]
            feed=int(feed)
            if feed and feed.isascii() and feed.isdigit() and len(feed) < 19
            else None,
            category=params.get("category") or None,
            q=(params.get("q") or "").strip()[:1000] or None,
        )

    def query(self, **more: Any) -> str:
        values = {"show": self.show, "feed": self.feed, "category": self.category, "q": self.q}
        values.update(more)
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})

    def listing(self, user: int) -> dict[str, Any]:
        """The Library.entries arguments of this view."""
        return {
            "feed": self.feed,
            "category": self.category,
            "read": False if self.show == "unread" else None,
            "starred": True if self.show == "starred" else None,
            "search": self.q,
        }


async def _list(request: Request, viewer: Viewer, view: View) -> tuple[Page | None, str | None]:
    w = web(request)
    key = request.query_params.get("page")
    try:
        found = await w.run(
            w.library.entries,
            viewer.user.id,
            limit=PAGE_SIZE,
            page=key,
            **view.listing(viewer.user.id),
        )
    except InvalidSearchError as exc:
        return None, str(exc)
    except ValueError as exc:
        return None, f"cannot show this page: {exc}"
    return found, None


@protected
async def index(request: Request, viewer: Viewer) -> Response:
    w = web(request)
    view = View.of(request)
    found, problem = await _list(request, viewer, view)
    lib, user = w.library, viewer.user.id

    def around() -> tuple[list[FeedSummary], int, int, int]:
        # One trip to the thread pool for what the page shows beside the list: under
        # a round's load each trip waits its turn for a core.
        return (
            lib.feed_summaries(user),
            lib.starred_count(user),
            lib.last_change(),
            lib.newest_entry_id(),
        )

    feeds, starred, seen, last_id = await w.run(around)
    folders = tree(feeds, view)
    title = {"unread": "Unread", "all": "All articles", "starred": "Starred"}[view.show]
    current = next((f for f in feeds if f.id == view.feed), None)
    if current is not None:
        title = current.title
    elif view.category:
        title = view.category
    if view.q:
        title = f"Search: {view.q}"
    return page(
        request, viewer, "index.html",
        view=view, found=found, problem=problem, folders=folders,
        total=folders.unread, starred=starred, title=title, seen=seen, last_id=last_id,
    )  # fmt: skip


@protected
async def more(request: Request, viewer: Viewer) -> Response:
    view = View.of(request)
    found, problem = await _list(request, viewer, view)
    if found is None:
        return PlainTextResponse(problem or "", status_code=400)
    return page(request, viewer, "_rows.html", view=view, found=found)


@protected
async def open_entry(request: Request, viewer: Viewer) -> Response:
    """The article; opening it marks it read (``?keep=1`` does not)."""
    w = web(request)
    entry_id = path_id(request, "entry_id")
    if entry_id is None:
        return PlainTextResponse("No such article.", status_code=404)
    try:
        if request.query_params.get("keep") != "1":
            await w.run(w.library.mark_read, viewer.user.id, [entry_id])
        entry = await w.run(w.library.entry, viewer.user.id, entry_id)
    except EntryNotFoundError:
        return PlainTextResponse("No such article.", status_code=404)
    return page(request, viewer, "_article.html", entry=entry, oob_row=True)


@protected
async def set_state(request: Request, viewer: Viewer) -> Response:
    """Read or unread, starred or not: ``what`` is read|unread|star|unstar."""
    w = web(request)
    entry_id = path_id(request, "entry_id")
    what = request.path_params["what"]
    calls = {
        "read": w.library.mark_read,
        "unread": w.library.mark_unread,
        "star": w.library.star,
        "unstar": w.library.unstar,
    }
    if entry_id is None or what not in calls:
        return PlainTextResponse("No such article.", status_code=404)
    try:
        await w.run(calls[what], viewer.user.id, [entry_id])
        entry = await w.run(w.library.entry, viewer.user.id, entry_id)
    except EntryNotFoundError:
        return PlainTextResponse("No such article.", status_code=404)
    return page(request, viewer, "_article.html", entry=entry, oob_row=True)


@protected
async def mark_view_read(request: Request, viewer: Viewer) -> Response:
    """Mark what the view shows read, up to the newest entry the page had seen: what
    arrived since stays unread. Answers with an undo."""
    w = web(request)
    view = View.of(request)
    form = await request.form()
    up_to = str(form.get("last_id") or "0")
    last_id = int(up_to) if up_to.isdigit() and len(up_to) < 19 else 0
    args = view.listing(viewer.user.id) | {"read": False}
    ids: list[int] = []
    key: str | None = None
    try:
        while True:
            found = await w.run(
                w.library.entries,
                viewer.user.id,
                order="id",
                max_id=last_id + 1,
                limit=5000,
                page=key,
                **args,
            )
            ids += [e.entry_id for e in found.entries]
            key = found.next
            if key is None or len(ids) >= 100_000:
                break
        for start in range(0, len(ids), 10_000):
            await w.run(w.library.mark_read, viewer.user.id, ids[start : start + 10_000])
    except (InvalidSearchError, FeedNotFoundError, ValueError) as exc:
        return PlainTextResponse(str(exc), status_code=400)
    token = w.remember_undo(viewer.user.id, tuple(ids))
    return page(
        request, viewer, "_marked.html", count=len(ids), token=token, view=view, keep_list=False
    )


@protected
async def mark_ids_read(request: Request, viewer: Viewer) -> Response:
    """Mark the entries the page names read (those above the current one, those scrolled
    past); with an undo unless ``quiet``."""
    w = web(request)
    form = await request.form()
    ids = tuple(
        int(part)
        for part in str(form.get("ids") or "").split(",")[:1000]
        if part.isdigit() and len(part) < 19
    )
    try:
        await w.run(w.library.mark_read, viewer.user.id, ids)
    except EntryNotFoundError:
        return PlainTextResponse("No such article.", status_code=404)
    if form.get("quiet"):
        return Response(status_code=204)
    token = w.remember_undo(viewer.user.id, ids)
    return page(request, viewer, "_marked.html", count=len(ids), token=token, view=View.of(request),
                keep_list=True)  # fmt: skip


@protected
async def undo(request: Request, viewer: Viewer) -> Response:
    w = web(request)
    marked = w.undo.pop(request.path_params["token"], None)
    if marked is None or marked[0] != viewer.user.id:
        return PlainTextResponse("Nothing to undo.", status_code=404)
    ids = marked[1]
    for start in range(0, len(ids), 10_000):
        try:
            await w.run(w.library.mark_unread, viewer.user.id, ids[start : start + 10_000])
        except EntryNotFoundError:  # deleted since (retention, unsubscribed): the rest
            for one in ids[start : start + 10_000]:
                try:
                    await w.run(w.library.mark_unread, viewer.user.id, [one])
                except EntryNotFoundError:
                    continue
    # The list drawn again, as the view now stands ("mark all read" emptied it).
    view = View.of(request)
    found, _ = await _list(request, viewer, view)
    return page(request, viewer, "_undone.html", count=len(ids), found=found, view=view)
