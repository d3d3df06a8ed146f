"""Reading entries: one user's, filtered, a page at a time (keyset, never OFFSET).

Which table drives a query is chosen by its filters, so that each reads an
index range and stops at the page's end:

    unread only       unread (user, [feed,] date)     the main view of every client
    starred only      starred (user)                  a few hundred rows
    a search          search MATCH, ranked            the FTS5 index
    everything else   entries (date) or one feed's    joined to the user's subscriptions
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rssmania._storage.connection import to_datetime, to_text
from rssmania._storage.rows import ENTRY_COLUMNS, NO_DATE, entry_from_row, entry_state
from rssmania.exceptions import InvalidSearchError
from rssmania.types import Entry

RANK_WINDOW = 2000
"""A ranked search ranks this many of its newest matches (all of a rarer word's)."""


@dataclass(frozen=True)
class EntryQuery:
    """What to list; every given field must hold."""

    feed_ids: tuple[int, ...] | None = None
    categories: tuple[str, ...] | None = None
    unread: bool | None = None
    starred: bool | None = None
    match: str | None = None
    exclude: str | None = None
    before: datetime | None = None
    after: datetime | None = None
    min_id: int | None = None
    max_id: int | None = None
    ids: tuple[int, ...] | None = None
    oldest_first: bool = False
    by_id: bool = False
    ranked: bool = False


def category_clause(column: str, categories: tuple[str, ...]) -> tuple[str, list[Any]]:
    """SQL: ``column`` is one of ``categories`` or below one ("Tech" holds "Tech/Python");
    the category "" is none at all."""
    parts, params = [], []
    for category in categories:
        if category == "":
            parts.append(f"{column} IS NULL")
            continue
        parts.append(f"({column} = ? OR substr({column}, 1, ?) = ?)")
        params += [category, len(category) + 1, category + "/"]
    return "(" + " OR ".join(parts) + ")", params


def page(
    db: sqlite3.Connection,
    user_id: int,
    q: EntryQuery,
    *,
    limit: int,
    after_key: str | None,
    offset: int = 0,
) -> tuple[list[Entry], str | None]:
    """Up to ``limit`` entries and the key of the next page (None: this was the last).

    ``offset`` skips that many first (the Miniflux API pages so): the rows
    skipped are still read, so keys are for deep pages."""
    uid = int(user_id)
    frm, where, params, date, ident = _source(uid, q)
    ranked = q.ranked and q.match is not None
    if ranked:
        return _ranked(
            db, uid, frm, where, params, q.match or "", limit=limit, after_key=after_key,
            offset=offset,
        )  # fmt: skip
    order = _after(date, ident, q, where, params, after_key)
    sql = (
        f"SELECT {ENTRY_COLUMNS}, {entry_state(str(uid))}, {date} FROM {frm}"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY {order} LIMIT ? OFFSET ?"
    )
    rows = db.execute(sql, (*params, limit + 1, offset)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    entries = [entry_from_row(tuple(r[:-1])) for r in rows]
    if not more or not rows:
        return entries, None
    last = rows[-1]
    key = str(last[14]) if q.by_id else f"{last[-1]}~{last[14]}"
    return entries, key


def count(db: sqlite3.Connection, user_id: int, q: EntryQuery) -> int:
    """How many entries the listing holds, over all its pages."""
    by_feed = (q.match, q.exclude, q.before, q.after, q.min_id, q.max_id, q.ids, q.starred)
    if all(v is None for v in by_feed):
        return _count_by_feed(db, int(user_id), q)
    frm, where, params, _, _ = _source(int(user_id), q, counting=True)
    sql = f"SELECT count(*) FROM {frm}" + (" WHERE " + " AND ".join(where) if where else "")
    try:
        return int(db.execute(sql, params).fetchone()[0])
    except sqlite3.OperationalError as exc:
        raise InvalidSearchError(q.match or "", str(exc)) from exc


def _count_by_feed(db: sqlite3.Connection, uid: int, q: EntryQuery) -> int:
    """A listing by feed and read state alone, from the counts each subscription and
    each feed keep: 2,000 rows summed, not a million counted."""
    what = {None: "f.entry_count", True: "s.unread", False: "f.entry_count - s.unread"}[q.unread]
    where: list[str] = [f"s.user_id = {uid}"]
    params: list[Any] = []
    if q.feed_ids is not None:
        where.append(f"s.feed_id IN ({','.join('?' * len(q.feed_ids))})")
        params += q.feed_ids
    if q.categories is not None:
        clause, values = category_clause("s.category", q.categories)
        where.append(clause)
        params += values
    sql = (
        f"SELECT coalesce(sum({what}), 0) FROM subscriptions s JOIN feeds f ON f.id = s.feed_id "
        f"WHERE {' AND '.join(where)}"
    )
    return int(db.execute(sql, params).fetchone()[0])


def ids(db: sqlite3.Connection, user_id: int, *, table: str) -> list[int]:
    """Every id of the user's ``unread`` or ``starred`` entries, ascending."""
    if table not in ("unread", "starred"):
        raise ValueError(table)
    rows = db.execute(
        f"SELECT entry_id FROM {table} WHERE user_id = ? ORDER BY entry_id", (user_id,)
    )
    return [row[0] for row in rows]


def _source(
    uid: int, q: EntryQuery, *, counting: bool = False
) -> tuple[str, list[str], list[Any], str, str]:
    """The FROM and WHERE of a listing, and its date and id columns."""
    where: list[str] = []
    params: list[Any] = []
    if q.match is not None or q.exclude is not None:
        source = "search_hits"
    elif q.unread is True:
        source = "unread"
    elif q.starred is True:
        source = "starred"
    else:
        source = "entries"
    if source == "unread":
        frm = "unread x JOIN entries e ON e.id = x.entry_id"
        date, ident = "x.sort_date", "x.entry_id"
        where.append(f"x.user_id = {uid}")
        if q.feed_ids is not None and len(q.feed_ids) == 1:
            where.append("x.feed_id = ?")
            params.append(q.feed_ids[0])
    elif source == "starred":
        frm = "starred x JOIN entries e ON e.id = x.entry_id"
        date, ident = "e.sort_date", "e.id"
        where.append(f"x.user_id = {uid}")
    else:
        frm = "entries e"
        date, ident = "e.sort_date", "e.id"
        if source == "search_hits" and q.match is not None and (counting or not q.ranked):
            where.append("e.id IN (SELECT rowid FROM search WHERE search MATCH ?)")
            params.append(q.match)
    one_feed = q.feed_ids is not None and len(q.feed_ids) == 1
    # Over many feeds, entries drive (their date index gives the page's order at once);
    # left to itself the planner went feed by feed and sorted a million rows (3 s).
    # One feed's entries are found through (feed_id, key) and sorted: a few thousand.
    join = "JOIN" if counting or source != "entries" or one_feed else "CROSS JOIN"
    frm += f" {join} subscriptions s ON s.feed_id = e.feed_id AND s.user_id = {uid}"
    if not counting:
        frm += " JOIN feeds f ON f.id = e.feed_id"
    if q.exclude is not None:
        where.append("e.id NOT IN (SELECT rowid FROM search WHERE search MATCH ?)")
        params.append(q.exclude)
    if q.feed_ids is not None:
        where.append(f"e.feed_id IN ({','.join('?' * len(q.feed_ids))})")
        params += q.feed_ids
    if q.categories is not None:
        clause, values = category_clause("s.category", q.categories)
        where.append(clause)
        params += values
    if q.unread is not None and source != "unread":
        test = "NOT EXISTS" if q.unread is False else "EXISTS"
        where.append(
            f"{test} (SELECT 1 FROM unread u WHERE u.user_id = {uid} AND u.entry_id = e.id)"
        )
    if q.starred is not None and source != "starred":
        test = "NOT EXISTS" if q.starred is False else "EXISTS"
        where.append(
            f"{test} (SELECT 1 FROM starred st WHERE st.user_id = {uid} AND st.entry_id = e.id)"
        )
    if q.before is not None:
        where.append(f"{date} < ?")
        params.append(to_text(q.before))
    if q.after is not None:
        where.append(f"{date} >= ?")
        params.append(to_text(q.after))
    if q.min_id is not None:
        where.append(f"{ident} > ?")
        params.append(q.min_id)
    if q.max_id is not None:
        where.append(f"{ident} < ?")
        params.append(q.max_id)
    if q.ids is not None:
        where.append(f"{ident} IN (SELECT value FROM json_each(?))")
        params.append("[" + ",".join(str(int(i)) for i in q.ids) + "]")
    return frm, where, params, date, ident


def _after(
    date: str, ident: str, q: EntryQuery, where: list[str], params: list[Any], after_key: str | None
) -> str:
    """The listing's ORDER BY; past ``after_key`` (the page before's last), its WHERE too."""
    order, keyset = _order(date, ident, q)
    if after_key is not None:
        where.append(keyset)
        params += _parse_key(after_key, by_id=q.by_id)
    return order


def _order(date: str, ident: str, q: EntryQuery) -> tuple[str, str]:
    if q.by_id:
        return (
            (f"{ident} ASC", f"{ident} > ?")
            if q.oldest_first
            else (f"{ident} DESC", f"{ident} < ?")
        )
    if q.oldest_first:
        return f"{date} ASC, {ident} ASC", f"({date}, {ident}) > (?, ?)"
    return f"{date} DESC, {ident} DESC", f"({date}, {ident}) < (?, ?)"


def _parse_key(key: str, *, by_id: bool) -> list[Any]:
    try:
        if by_id:
            return [int(key)]
        date, _, ident = key.rpartition("~")
        if to_datetime(date) is None:
            raise ValueError(date)
        return [date, int(ident)]
    except ValueError:
        raise ValueError(f"not a page key of this listing: {key!r}") from None


def _ranked(
    db: sqlite3.Connection,
    uid: int,
    frm: str,
    where: list[str],
    params: list[Any],
    match: str,
    *,
    limit: int,
    after_key: str | None,
    offset: int = 0,
) -> tuple[list[Entry], str | None]:
    """The best matches among the newest RANK_WINDOW that pass the filters; newest first
    on ties. Pages by position within them (a bounded set), not over the table."""
    start = 0
    if after_key is not None:
        try:
            start = int(after_key.removeprefix("rank:"))
        except ValueError:
            raise ValueError(f"not a page key of this search: {after_key!r}") from None
    start += offset
    # The index walks its matches newest first (rowid order, which is the order
    # entries were first seen) and scores only those it keeps: a common word's
    # 116,000 matches, all scored and sorted, took 1 s; bm25 alone, 108 ms.
    # bm25 weighs a title hit 4 times a body hit, an author's twice.
    window = (
        "SELECT search.rowid AS hit, bm25(search, 4.0, 2.0, 1.0) AS score "
        f"FROM search CROSS JOIN {frm} WHERE e.id = search.rowid AND search MATCH ?"
        + "".join(" AND " + w for w in where)
        + f" ORDER BY search.rowid DESC LIMIT {RANK_WINDOW}"
    )
    sql = (
        f"SELECT {ENTRY_COLUMNS}, {entry_state(str(uid))} FROM ({window}) h "
        "JOIN entries e ON e.id = h.hit JOIN feeds f ON f.id = e.feed_id "
        "ORDER BY h.score, e.sort_date DESC, e.id DESC LIMIT ? OFFSET ?"
    )
    try:
        rows = db.execute(sql, (match, *params, limit + 1, start)).fetchall()
    except sqlite3.OperationalError as exc:
        raise InvalidSearchError(match, str(exc)) from exc
    more = len(rows) > limit
    entries = [entry_from_row(tuple(r)) for r in rows[:limit]]
    return entries, f"rank:{start + limit}" if more else None


def refs(
    db: sqlite3.Connection, user_id: int, q: EntryQuery, *, limit: int, after_key: str | None
) -> tuple[list[tuple[int, datetime]], str | None]:
    """The ids and dates of a page as ``page`` lists it, with the same keys, without the
    entries' text: 10,000 of them without reading 10,000 articles (a sync's diff)."""
    if q.ranked and q.match is not None:
        raise ValueError("a ranked search has no id-only listing")
    uid = int(user_id)
    frm, where, params, date, ident = _source(uid, q)
    order = _after(date, ident, q, where, params, after_key)
    sql = (
        f"SELECT {ident}, {date} FROM {frm}"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY {order} LIMIT ?"
    )
    rows = db.execute(sql, (*params, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    found = [(int(i), to_datetime(d) or NO_DATE) for i, d in rows]
    if not more or not rows:
        return found, None
    last = rows[-1]
    return found, str(last[0]) if q.by_id else f"{last[1]}~{last[0]}"
