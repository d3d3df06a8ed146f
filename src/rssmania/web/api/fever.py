"""The Fever API: ``POST /fever/?api&items`` with ``api_key`` = md5("name:secret").

The secret is the account's password, or one of its API tokens (the safer
choice: see ``accounts.fever_digest``). Every answer carries ``api_version``
and ``auth``; a wrong or missing key gets ``auth: 0`` and nothing else, as
the protocol says. Groups are categories ("All" holds the feeds in none).
Clients are configured with the server's address, to which some add
``/fever/`` and others ``/api/fever.php``: both are served.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from rssmania import Category, Entry, EntryNotFoundError, Feed, User
from rssmania.web.api.credentials import refuse
from rssmania.web.api.groups import ALL, group_of, with_all
from rssmania.web.context import Web, web

API_VERSION = 3
PAGE = 50
"""Items per answer: the protocol's."""


def _json(data: dict[str, Any]) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def _ids(values: Iterable[int]) -> str:
    return ",".join(str(i) for i in values)


_NUMBER = re.compile(r"-?[0-9]{1,18}")


def _int(value: str | None) -> int | None:
    if value is None or not _NUMBER.fullmatch(value.strip()):
        return None
    return int(value.strip())


async def endpoint(request: Request) -> Response:
    w = web(request)
    form = FormData()
    if request.method == "POST":
        form = await request.form(max_files=0, max_fields=100)
    params = {**request.query_params, **{k: v for k, v in form.items() if isinstance(v, str)}}
    answer: dict[str, Any] = {"api_version": API_VERSION, "auth": 0}
    key = params.get("api_key", "")
    client = f"ip:{request.client.host if request.client else '?'}"
    if key and w.throttle.wait(client) > 0:
        # The key is md5("name:password"): wrong keys are guesses at a password.
        refuse(request, "too many wrong Fever api_keys from this address")
        return _json(answer)
    user = await w.run(w.library.user_by_fever_key, key) if key else None
    if user is None:
        if key:
            w.throttle.failed(client)
        refuse(request, "no Fever api_key" if not key else "unknown Fever api_key")
        return _json(answer)
    answer["auth"] = 1
    answer["last_refreshed_on_time"] = int(time.time())
    if "api" not in params and "api" not in request.query_params:
        return _json(answer)
    if "mark" in params:
        await _mark(request, w, user, params, answer)
        # As Fever answered a mark: the lists it changes, so the app can check.
        if params.get("as") in ("saved", "unsaved"):
            answer["saved_item_ids"] = _ids(await w.run(w.library.starred_ids, user.id))
        else:
            answer["unread_item_ids"] = _ids(await w.run(w.library.unread_ids, user.id))
    feeds: list[Feed] | None = None
    groups: list[Category] | None = None
    if any(k in params for k in ("groups", "feeds")):
        feeds = await w.run(w.library.feeds, user.id)
        groups = await with_all(w, user, feeds)
        answer["feeds_groups"] = _feeds_groups(feeds, groups)
    if "groups" in params and groups is not None:
        answer["groups"] = [{"id": g.id, "title": g.name} for g in groups]
    if "feeds" in params and feeds is not None:
        answer["feeds"] = [_feed(f) for f in feeds]
    if "favicons" in params:
        answer["favicons"] = []
    if "items" in params:
        await _items(w, user, params, answer)
    if "links" in params:
        answer["links"] = []
    if "unread_item_ids" in params:
        answer["unread_item_ids"] = _ids(await w.run(w.library.unread_ids, user.id))
    if "saved_item_ids" in params:
        answer["saved_item_ids"] = _ids(await w.run(w.library.starred_ids, user.id))
    return _json(answer)


def _feeds_groups(feeds: list[Feed], groups: list[Category]) -> list[dict[str, Any]]:
    ids = {g.name: g.id for g in groups}
    members: dict[int, list[int]] = {}
    for f in feeds:
        group = ids.get(group_of(f))
        if group is not None:
            members.setdefault(group, []).append(f.id)
    return [{"group_id": g, "feed_ids": _ids(fs)} for g, fs in members.items()]


def _feed(feed: Feed) -> dict[str, Any]:
    updated = feed.last_new or feed.last_checked
    return {
        "id": feed.id,
        "favicon_id": 0,
        "title": feed.display_title,
        "url": feed.url,
        "site_url": feed.link or feed.url,
        "is_spark": 0,
        "last_updated_on_time": int(updated.timestamp()) if updated else 0,
    }


def _item(entry: Entry) -> dict[str, Any]:
    when = entry.published or entry.updated or entry.first_seen
    return {
        "id": entry.entry_id,
        "feed_id": entry.feed_id,
        "title": entry.title or "",
        "author": entry.author or "",
        "html": entry.content or entry.summary or "",
        "url": entry.link or "",
        "is_saved": int(entry.starred),
        "is_read": int(entry.read),
        "created_on_time": int(when.timestamp()),
    }


async def _items(w: Web, user: User, params: dict[str, str], answer: dict[str, Any]) -> None:
    with_ids = params.get("with_ids")
    since_id = _int(params.get("since_id"))
    max_id = _int(params.get("max_id"))
    if with_ids is not None:
        ids = [i for i in (_int(p) for p in with_ids.split(",")) if i is not None and i > 0]
        found = await w.run(w.library.entries, user.id, ids=ids[:PAGE], order="id", limit=PAGE)
        items = list(found.entries)
    elif since_id is not None and max_id is None:
        # Forward from since_id, oldest first: how apps catch up.
        found = await w.run(
            w.library.entries, user.id, min_id=max(since_id, 0), order="id", limit=PAGE
        )
        items = list(found.entries)
    else:
        # max_id (0 or none: from the newest) down, newest first: how apps page back.
        below = max_id if max_id is not None and max_id > 0 else None
        found = await w.run(w.library.entries, user.id, max_id=below, order="-id", limit=PAGE)
        items = list(found.entries)
    answer["items"] = [_item(e) for e in items]
    answer["total_items"] = await w.run(w.library.count_entries, user.id)


async def _mark(
    request: Request, w: Web, user: User, params: dict[str, str], answer: dict[str, Any]
) -> None:
    what, action, ident = params.get("mark"), params.get("as"), _int(params.get("id"))
    before = _int(params.get("before"))
    if what not in ("item", "feed", "group") or ident is None:
        refuse(request, f"Fever mark={what!r} id={params.get('id')!r} is not understood")
        return
    if what == "item":
        calls = {
            "read": w.library.mark_read,
            "unread": w.library.mark_unread,
            "saved": w.library.star,
            "unsaved": w.library.unstar,
        }
        call = calls.get(action or "")
        if call is None:
            refuse(request, f"Fever mark=item as={action!r} is not understood")
            return
        try:
            await w.run(call, user.id, [ident])
        except EntryNotFoundError:
            refuse(request, f"Fever mark=item id={ident}: no such item of the user's")
        return
    if action != "read":
        refuse(request, f"Fever mark={what} as={action!r}: only as=read is")
        return
    # "before" is the time the client last refreshed: what arrived since stays unread.
    until = datetime.fromtimestamp(before, UTC) if before and before > 0 else None
    if what == "feed":
        try:
            await w.run(w.library.mark_all_read, user.id, feed=ident, before=until)
        except LookupError:
            refuse(request, f"Fever mark=feed id={ident}: no such feed of the user's")
        return
    await _mark_group(request, w, user, ident, until, answer)


async def _mark_group(
    request: Request, w: Web, user: User, group: int, until: datetime | None,
    answer: dict[str, Any],
) -> None:  # fmt: skip
    del answer
    if group == 0:  # every item ("Kindling")
        await w.run(w.library.mark_all_read, user.id, before=until)
        return
    if group < 0:  # -1: the Sparks, and rssmania has none
        return
    feeds = await w.run(w.library.feeds, user.id)
    groups = await with_all(w, user, feeds)
    found = next((g for g in groups if g.id == group), None)
    if found is None:
        refuse(request, f"Fever mark=group id={group}: no such group of the user's")
        return
    category = "" if found.name == ALL else found.name
    await w.run(w.library.mark_all_read, user.id, category=category, before=until)


def routes() -> list[BaseRoute]:
    methods = ["GET", "POST"]
    return [
        Route("/fever", endpoint, methods=methods),
        Route("/fever/", endpoint, methods=methods),
        Route("/api/fever.php", endpoint, methods=methods),
        Route("/fever/api", endpoint, methods=methods),
    ]
