"""The Google Reader API of `rssmania serve`, through raw requests on 127.0.0.1.

One `serve` (its poller polling each second) and one feed server for the module;
each test has users of its own, with feeds of their own, so that counts and state
are the test's. What the API says is checked against the Library, which the web
reader shows.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rssmania import Library
from tests.feedserver import FeedServer, items, rss, wait_for
from tests.greader_http import Answer, call, login
from tests.test_web import PASSWORD, Serve, serving

LONG = "tag:google.com,2005:reader/item/"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
KEPT_UNREAD = "user/-/state/com.google/kept-unread"
READING_LIST = "user/-/state/com.google/reading-list"


@pytest.fixture(scope="module")
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    db = tmp_path_factory.mktemp("greader") / "feeds.sqlite"
    with Library(db) as lib:
        lib.add_user("first", PASSWORD)
    # New feeds are due at once; an hour keeps the poller off the ones already read.
    with serving(db, "--interval", "3600") as running:
        yield running


_numbers = itertools.count(1)


@dataclass(frozen=True)
class Reader:
    """A user of one test, their feeds (by path on the feed server) and a login token."""

    id: int
    name: str
    feed_ids: dict[str, int]
    auth: str
    base: str

    def get(self, path: str, **query: str) -> Answer:
        return call(self.base, path, query=query, auth=self.auth)

    def json(self, path: str, query: list[tuple[str, str]] | dict[str, str] | None = None) -> dict:
        answer = call(self.base, path, query=query, auth=self.auth)
        assert answer.status == 200, (path, answer.status, answer.text)
        assert answer.headers["content-type"].startswith("application/json")
        return answer.json()  # type: ignore[no-any-return]

    def post(self, path: str, form: list[tuple[str, str]] | dict[str, str]) -> Answer:
        return call(self.base, path, form=form, auth=self.auth)


def make_reader(
    serve: Serve, feeds: FeedServer, layout: dict[str, tuple[str | None, int]]
) -> Reader:
    """A new user following feeds ``{name: (category, entries)}``, all polled once."""
    name = f"gr{next(_numbers)}"
    ids: dict[str, int] = {}
    with Library(serve.db) as lib:
        user = lib.add_user(name, PASSWORD)
        for feed, (category, n) in layout.items():
            url = feeds.set(f"/{name}/{feed}.xml", rss(f"{name} {feed}", items(f"{name}{feed}", n)))
            ids[feed] = lib.add_feed(user.id, url, category=category).id
        total = sum(n for _, n in layout.values())
        wait_for(
            lambda: len(lib.entries(user.id, limit=1000).entries) == total,
            timeout=30,
            what=f"{total} entries polled for {name}",
        )
    return Reader(user.id, name, ids, login(serve.url, name, PASSWORD), serve.url)


@pytest.fixture
def alice(serve: Serve, feeds: FeedServer) -> Reader:
    return make_reader(serve, feeds, {"tech": ("Tech", 3), "news": ("News", 2), "loose": (None, 1)})


@pytest.fixture
def bob(serve: Serve, feeds: FeedServer) -> Reader:
    return make_reader(serve, feeds, {"own": ("Tech", 2)})


def library_entries(serve: Serve, reader: Reader, **filters: object) -> list[int]:
    with Library(serve.db) as lib:
        return [e.entry_id for e in lib.entries(reader.id, limit=1000, **filters).entries]  # type: ignore[arg-type]


# -- logging in ---------------------------------------------------------------------------


def test_client_login_by_form_query_string_and_json(serve: Serve, alice: Reader) -> None:
    by_form = call(serve.url, "/accounts/ClientLogin",
                   form={"Email": alice.name, "Passwd": PASSWORD, "service": "reader"})  # fmt: skip
    assert by_form.status == 200
    lines = dict(line.split("=", 1) for line in by_form.text.split())
    assert set(lines) == {"SID", "LSID", "Auth"}
    by_query = call(serve.url, "/accounts/ClientLogin",
                    query={"Email": alice.name, "Passwd": PASSWORD})  # fmt: skip
    assert by_query.status == 200
    assert "Auth=" in by_query.text
    as_json = call(serve.url, "/accounts/ClientLogin",
                   form={"Email": alice.name, "Passwd": PASSWORD, "output": "json"})  # fmt: skip
    token = as_json.json()["Auth"]
    assert call(serve.url, "/reader/api/0/user-info", auth=token).json()["userName"] == alice.name
    # The Authorization header in the forms clients send it.
    for header in (f"GoogleLogin auth={token}", f'GoogleLogin auth="{token}"',
                   f"googlelogin  auth = {token}", f"Bearer {token}"):  # fmt: skip
        answer = call(serve.url, "/reader/api/0/user-info", headers={"Authorization": header})
        assert answer.status == 200, header
    assert call(serve.url, "/reader/api/0/user-info", query={"auth": token}).status == 200


def test_client_login_refuses_a_wrong_password_and_logs_it(
    serve: Serve, alice: Reader, caplog: pytest.LogCaptureFixture
) -> None:
    answer = call(serve.url, "/accounts/ClientLogin",
                  form={"Email": alice.name, "Passwd": "wrong"})  # fmt: skip
    assert answer.status == 401
    assert "Error=BadAuthentication" in answer.text
    wait_for(lambda: any("BadAuthentication" in line for line in serve.said),
             what="the refusal logged")  # fmt: skip


def test_an_api_token_logs_in_and_a_new_password_ends_login_tokens(
    serve: Serve, alice: Reader
) -> None:
    with Library(serve.db) as lib:
        api_token = lib.new_token(alice.name)
    # Given as the password, the API token is the app's login token itself.
    assert login(serve.url, alice.name.upper(), api_token) == api_token
    assert call(serve.url, "/reader/api/0/token", auth=api_token).status == 200
    # An API token is the user's only: not another's name.
    refused = call(serve.url, "/accounts/ClientLogin",
                   form={"Email": "first", "Passwd": api_token})  # fmt: skip
    assert refused.status == 401
    with Library(serve.db) as lib:
        lib.set_password(alice.name, "a new password")
    assert call(serve.url, "/reader/api/0/token", auth=alice.auth).status == 401
    assert call(serve.url, "/reader/api/0/token", auth=api_token).status == 200
    fresh = login(serve.url, alice.name, "a new password")
    assert fresh != alice.auth
    assert call(serve.url, "/reader/api/0/token", auth=fresh).status == 200


ENDPOINTS = [
    ("GET", "/reader/api/0/token"),
    ("GET", "/reader/api/0/user-info"),
    ("GET", "/reader/api/0/subscription/list"),
    ("GET", "/reader/api/0/tag/list"),
    ("GET", "/reader/api/0/unread-count"),
    ("GET", "/reader/api/0/stream/items/ids"),
    ("GET", "/reader/api/0/stream/items/contents"),
    ("GET", "/reader/api/0/stream/contents/user/-/state/com.google/reading-list"),
    ("GET", "/reader/api/0/stream/contents"),
    ("POST", "/reader/api/0/stream/items/contents"),
    ("POST", "/reader/api/0/edit-tag"),
    ("POST", "/reader/api/0/mark-all-as-read"),
    ("POST", "/reader/api/0/subscription/edit"),
    ("POST", "/reader/api/0/subscription/quickadd"),
    ("POST", "/reader/api/0/rename-tag"),
    ("POST", "/reader/api/0/disable-tag"),
    ("GET", "/reader/api/0/no-such-method"),
    ("GET", "/reader/atom/user/-/state/com.google/reading-list"),
    ("GET", "/reader/atom/feed/1"),
    ("GET", "/api/greader.php/reader/api/0/token"),
    ("GET", "//reader/api/0/user-info"),
]


@pytest.fixture(scope="module")
def carol(serve: Serve, feeds: FeedServer) -> Reader:
    """A user the refused requests would change, were they not refused."""
    return make_reader(serve, feeds, {"kept": ("Tech", 1)})


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_refuses_without_credentials(
    serve: Serve, carol: Reader, method: str, path: str
) -> None:
    alice = carol
    form = {"i": "1", "a": READ, "s": "feed/1", "T": "x"} if method == "POST" else None
    for auth in (None, "nobody/" + "0" * 64, f"{alice.name}/{'0' * 64}", "random"):
        answer = call(serve.url, path, form=form, auth=auth)
        assert answer.status == 401, (path, auth, answer.status, answer.text)
    assert library_entries(serve, alice, read=True) == []


# -- reading ----------------------------------------------------------------------------


def test_subscriptions_tags_and_unread_counts_are_the_librarys(serve: Serve, alice: Reader) -> None:
    subs = alice.json("/reader/api/0/subscription/list", {"output": "json"})["subscriptions"]
    by_id = {s["id"]: s for s in subs}
    assert set(by_id) == {f"feed/{i}" for i in alice.feed_ids.values()}
    tech = by_id[f"feed/{alice.feed_ids['tech']}"]
    assert tech["categories"] == [{"id": "user/-/label/Tech", "label": "Tech"}]
    assert tech["title"] == f"{alice.name} tech"
    assert tech["url"].endswith(f"/{alice.name}/tech.xml")
    assert by_id[f"feed/{alice.feed_ids['loose']}"]["categories"] == []

    tags = {t["id"] for t in alice.json("/reader/api/0/tag/list")["tags"]}
    assert tags == {STARRED, "user/-/label/Tech", "user/-/label/News"}

    alice.post("/reader/api/0/edit-tag", [("i", str(library_entries(serve, alice)[0])),
                                          ("a", READ)])  # fmt: skip
    counts = {c["id"]: c["count"] for c in alice.json("/reader/api/0/unread-count")["unreadcounts"]}
    with Library(serve.db) as lib:
        expected = lib.counts(alice.id)
    assert counts[READING_LIST] == expected.total == 5
    for feed_id, unread in expected.feeds.items():
        assert counts[f"feed/{feed_id}"] == unread
    assert counts["user/-/label/Tech"] == expected.categories["Tech"]
    assert counts["user/-/label/News"] == expected.categories["News"]


def ids_of(reader: Reader, query: list[tuple[str, str]] | dict[str, str]) -> list[int]:
    refs = reader.json("/reader/api/0/stream/items/ids", query)["itemRefs"]
    return [int(r["id"]) for r in refs]


def test_stream_item_ids_for_every_stream_and_filter(serve: Serve, alice: Reader) -> None:
    everything = library_entries(serve, alice)
    assert len(everything) == 6
    first, second = everything[0], everything[1]
    alice.post("/reader/api/0/edit-tag", [("i", str(first)), ("a", READ), ("a", STARRED)])
    tech = alice.feed_ids["tech"]
    cases: list[tuple[list[tuple[str, str]], list[int]]] = [
        ([("s", READING_LIST)], everything),
        ([("s", READING_LIST), ("xt", READ)], everything[1:]),
        ([("s", f"user/{alice.id}/state/com.google/reading-list"), ("xt", READ)], everything[1:]),
        ([("s", f"user/{alice.name}/state/com.google/read")], [first]),
        ([("s", STARRED)], [first]),
        ([("s", READING_LIST), ("it", STARRED)], [first]),
        ([("s", KEPT_UNREAD)], everything[1:]),
        ([("s", f"feed/{tech}")], library_entries(serve, alice, feed=tech)),
        ([("s", f"feed/{tech}"), ("xt", READ)],
         [i for i in library_entries(serve, alice, feed=tech) if i != first]),
        ([("s", "user/-/label/News")], library_entries(serve, alice, category="News")),
        ([("s", "user/-/state/com.google/broadcast")], []),
        ([("s", READ), ("xt", READ)], []),
        ([("s", READING_LIST), ("r", "o")], list(reversed(everything))),
        ([("s", READING_LIST), ("n", "2")], everything[:2]),
    ]  # fmt: skip
    for query, expected in cases:
        assert ids_of(alice, [*query, ("output", "json")]) == expected, query
    # A feed by its URL, and the same with doubled slashes in the path.
    url = alice.json("/reader/api/0/subscription/list")["subscriptions"][0]["url"]
    by_url = alice.json("//reader/api/0//stream/items/ids", {"s": f"feed/{url}"})["itemRefs"]
    assert len(by_url) > 0
    # Pages follow each other with the continuation.
    page = alice.json("/reader/api/0/stream/items/ids", {"s": READING_LIST, "n": "4"})
    rest = alice.json("/reader/api/0/stream/items/ids",
                      {"s": READING_LIST, "n": "4", "c": page["continuation"]})  # fmt: skip
    assert [int(r["id"]) for r in page["itemRefs"] + rest["itemRefs"]] == everything
    assert "continuation" not in rest
    # ot and nt: only what is dated from or before them (seconds, as clients send them).
    dated = {int(r["id"]): int(r["timestampUsec"]) for r in page["itemRefs"] + rest["itemRefs"]}
    ot = dated[second] // 1_000_000
    since = ids_of(alice, {"s": READING_LIST, "ot": str(ot)})
    assert since == [i for i in everything if dated[i] >= ot * 1_000_000]
    assert first in since
    assert everything[-1] not in since
    until = ids_of(alice, {"s": READING_LIST, "nt": str(ot)})
    assert until == [i for i in everything if dated[i] < ot * 1_000_000]


@pytest.mark.parametrize("how", ["query", "form"])
def test_item_contents_by_every_id_form(serve: Serve, alice: Reader, how: str) -> None:
    a, b, c, d = library_entries(serve, alice)[:4]
    given = [
        ("i", str(a)),
        ("i", f"{LONG}{b:016x}"),
        ("i", f"{LONG}{c:x}"),
        ("i", f"{d:016x}"),
        ("i", f"{a},{LONG}{b:016x}"),  # a list in one parameter: duplicates once
    ]
    if how == "query":
        answer = call(serve.url, "/reader/api/0/stream/items/contents",
                      query=[*given, ("output", "json")], auth=alice.auth)  # fmt: skip
    else:
        answer = alice.post("/reader/api/0/stream/items/contents", [*given, ("T", token(alice))])
    assert answer.status == 200, answer.text
    found = answer.json()["items"]
    assert [item["id"] for item in found] == [f"{LONG}{i:016x}" for i in (a, b, c, d)]
    one = found[0]
    with Library(serve.db) as lib:
        entry = lib.entry(alice.id, a)
    assert one["title"] == entry.title
    assert one["canonical"] == [{"href": entry.link}]
    assert one["origin"]["streamId"] == f"feed/{entry.feed_id}"
    assert one["summary"]["content"] == (entry.summary or entry.content)
    assert one["summary"]["content"] == f"<p>Body of {alice.name}tech 2</p>"
    assert READING_LIST in one["categories"]
    assert one["published"] == int(entry.published.timestamp())  # type: ignore[union-attr]
    bare_hex = f"{b:x}" if any(ch in f"{b:x}" for ch in "abcdef") else f"{b:016x}"
    hexed = alice.json("/reader/api/0/stream/items/contents", {"i": bare_hex})["items"]
    assert [item["id"] for item in hexed] == [f"{LONG}{b:016x}"]
    bad = call(serve.url, "/reader/api/0/stream/items/contents", query={"i": "zz-top"},
               auth=alice.auth)  # fmt: skip
    assert bad.status == 400
    assert "not item ids: 'zz-top'" in bad.text
    # One bad id among good ones costs the app nothing else (and is logged).
    mixed = alice.json("/reader/api/0/stream/items/contents", [("i", "zz-top"), ("i", str(a))])
    assert [item["id"] for item in mixed["items"]] == [f"{LONG}{a:016x}"]


def test_stream_contents_by_path_and_parameter(serve: Serve, alice: Reader) -> None:
    tech = alice.feed_ids["tech"]
    by_path = alice.json(f"/reader/api/0/stream/contents/feed/{tech}", {"n": "2"})
    assert [int(i["id"][len(LONG):], 16) for i in by_path["items"]] == \
        library_entries(serve, alice, feed=tech)[:2]  # fmt: skip
    assert "continuation" in by_path
    label = alice.json("/reader/api/0/stream/contents/user/-/label/Tech")
    assert all("user/-/label/Tech" in i["categories"] for i in label["items"])
    by_param = alice.json("/reader/api/0/stream/contents", {"s": "user/-/label/News", "n": "50"})
    assert len(by_param["items"]) == 2
    url = alice.json("/reader/api/0/subscription/list")["subscriptions"][0]["url"]
    by_url = call(serve.url, "/reader/api/0/stream/contents/feed/" + url, auth=alice.auth)
    assert by_url.status == 200
    assert by_url.json()["items"]
    short = alice.json("/reader/api/0/stream/contents/reading-list", {"output": "json"})
    assert len(short["items"]) == 6
    assert isinstance(by_path["continuation"], str)  # Reeder decodes a string (FreshRSS#3247)
    under_php = alice.json("/api/greader.php/reader/api/0/stream/contents/" + READING_LIST)
    assert len(under_php["items"]) == 6


# -- changing state ---------------------------------------------------------------------


def token(reader: Reader) -> str:
    answer = reader.get("/reader/api/0/token")
    assert answer.status == 200
    return answer.text


def test_edit_tag_marks_read_unread_starred_as_the_library_sees_it(
    serve: Serve, alice: Reader
) -> None:
    a, b, c = library_entries(serve, alice)[:3]
    t = token(alice)

    def edit(*pairs: tuple[str, str]) -> None:
        answer = alice.post("/reader/api/0/edit-tag", [*pairs, ("T", t)])
        assert (answer.status, answer.text) == (200, "OK")

    edit(("i", str(a)), ("i", f"{LONG}{b:016x}"), ("a", READ), ("r", KEPT_UNREAD))
    assert set(library_entries(serve, alice, read=True)) == {a, b}
    edit(
        ("i", str(b)),
        ("r", READ),
        ("a", KEPT_UNREAD),
        ("a", "user/-/state/com.google/tracking-kept-unread"),
    )
    assert library_entries(serve, alice, read=True) == [a]
    edit(("i", f"{c:016x}"), ("a", STARRED))
    assert library_entries(serve, alice, starred=True) == [c]
    edit(("i", str(c)), ("r", STARRED))
    assert library_entries(serve, alice, starred=True) == []
    # The Library's marks show in the API the other way round.
    with Library(serve.db) as lib:
        lib.star(alice.id, [b])
    contents = alice.json("/reader/api/0/stream/items/contents", [("i", str(a)), ("i", str(b))])
    cats = {int(i["id"][len(LONG) :], 16): i["categories"] for i in contents["items"]}
    assert READ in cats[a]
    assert STARRED not in cats[a]
    assert STARRED in cats[b]
    assert READ not in cats[b]
    assert KEPT_UNREAD in cats[b]
    # A wrong T is refused as Google did, so that clients ask for a new one.
    wrong = alice.post("/reader/api/0/edit-tag", [("i", str(c)), ("a", READ), ("T", "stale")])
    assert wrong.status == 401
    assert wrong.headers["X-Reader-Google-Bad-Token"] == "true"
    # A GET changes nothing.
    assert call(serve.url, "/reader/api/0/edit-tag", query={"i": str(c), "a": READ},
                auth=alice.auth).status == 405  # fmt: skip
    assert c not in library_entries(serve, alice, read=True)


def test_mark_all_as_read_keeps_what_is_newer_than_ts(serve: Serve, alice: Reader) -> None:
    tech = alice.feed_ids["tech"]
    refs = alice.json("/reader/api/0/stream/items/ids", {"s": f"feed/{tech}"})["itemRefs"]
    _newest, middle, oldest = (int(r["id"]) for r in refs)
    ts = next(r["timestampUsec"] for r in refs if int(r["id"]) == middle)
    answer = alice.post("/reader/api/0/mark-all-as-read", {"s": f"feed/{tech}", "ts": ts})
    assert (answer.status, answer.text) == (200, "OK")
    assert set(library_entries(serve, alice, read=True)) == {middle, oldest}
    assert alice.post("/reader/api/0/mark-all-as-read", {"s": "user/-/label/News"}).text == "OK"
    assert library_entries(serve, alice, read=False, category="News") == []
    assert alice.post("/reader/api/0/mark-all-as-read", {"s": READING_LIST}).text == "OK"
    assert library_entries(serve, alice, read=False) == []


# -- changing subscriptions ---------------------------------------------------------------


def test_quickadd_edit_and_unsubscribe(serve: Serve, alice: Reader, feeds: FeedServer) -> None:
    url = feeds.set(f"/{alice.name}/added.xml", rss("Added", items(f"{alice.name}added", 2)))
    added = alice.post("/reader/api/0/subscription/quickadd", {"quickadd": url}).json()
    assert added["numResults"] == 1
    assert added["query"] == url
    feed_id = int(added["streamId"].removeprefix("feed/"))
    again = alice.post("/reader/api/0/subscription/quickadd", {"quickadd": f"feed/{url}"}).json()
    assert again["streamId"] == added["streamId"]
    edit = "/reader/api/0/subscription/edit"
    assert alice.post(edit, {"ac": "edit", "s": added["streamId"], "t": "Renamed",
                             "a": "user/-/label/Later"}).text == "OK"  # fmt: skip
    with Library(serve.db) as lib:
        feed = lib.feed(alice.id, feed_id)
    assert (feed.user_title, feed.category) == ("Renamed", "Later")
    assert alice.post(edit, {"ac": "edit", "s": f"feed/{url}",
                             "r": "user/-/label/Later"}).text == "OK"  # fmt: skip
    with Library(serve.db) as lib:
        assert lib.feed(alice.id, feed_id).category is None
    assert alice.post(edit, {"ac": "unsubscribe", "s": added["streamId"]}).text == "OK"
    with Library(serve.db) as lib:
        assert feed_id not in {f.id for f in lib.feeds(alice.id)}
    other = feeds.set(f"/{alice.name}/sub.xml", rss("Sub", items(f"{alice.name}sub", 1)))
    assert alice.post(edit, {"ac": "subscribe", "s": f"feed/{other}", "t": "Mine",
                             "a": "user/-/label/Fresh"}).text == "OK"  # fmt: skip
    with Library(serve.db) as lib:
        made = next(f for f in lib.feeds(alice.id) if f.url == other)
    assert (made.user_title, made.category) == ("Mine", "Fresh")


def test_quickadd_of_a_site_subscribes_to_its_feed(
    serve: Serve, alice: Reader, feeds: FeedServer
) -> None:
    feed = feeds.set(f"/{alice.name}/site/feed.xml", rss("Site", items(f"{alice.name}s", 1)))
    page = feeds.set(
        f"/{alice.name}/site/",
        f'<html><head><link rel="alternate" type="application/rss+xml" href="{feed}">'
        "</head><body>A site</body></html>",
        content_type="text/html; charset=utf-8",
    )
    added = alice.post("/reader/api/0/subscription/quickadd", {"quickadd": page}).json()
    assert added["numResults"] == 1
    with Library(serve.db) as lib:
        made = lib.feed(alice.id, int(added["streamId"].removeprefix("feed/")))
    assert made.url == feed
    missing = feeds.set(f"/{alice.name}/gone", "", status=404)
    none = alice.post("/reader/api/0/subscription/quickadd", {"quickadd": missing}).json()
    assert none["numResults"] == 0
    assert "404" in none["error"]


def test_rename_and_disable_tags(serve: Serve, alice: Reader, bob: Reader) -> None:
    # Both follow a "Tech": the rename and the removal are each one's own.
    renamed = alice.post("/reader/api/0/rename-tag",
                         {"s": "user/-/label/Tech", "dest": "user/-/label/Science"})  # fmt: skip
    assert (renamed.status, renamed.text) == (200, "OK")
    with Library(serve.db) as lib:
        assert lib.feed(alice.id, alice.feed_ids["tech"]).category == "Science"
        assert lib.feed(bob.id, bob.feed_ids["own"]).category == "Tech"
    tags = {t["id"] for t in alice.json("/reader/api/0/tag/list")["tags"]}
    assert "user/-/label/Science" in tags
    assert "user/-/label/Tech" not in tags
    assert alice.post("/reader/api/0/disable-tag", {"t": "Science"}).text == "OK"
    with Library(serve.db) as lib:
        assert lib.feed(alice.id, alice.feed_ids["tech"]).category is None
        assert lib.feed(bob.id, bob.feed_ids["own"]).category == "Tech"
    assert "user/-/label/Science" not in {
        t["id"] for t in alice.json("/reader/api/0/tag/list")["tags"]
    }
    missing = alice.post("/reader/api/0/disable-tag", {"s": "user/-/label/Nothing"})
    assert missing.status == 404


# -- two users ---------------------------------------------------------------------------


def test_no_endpoint_shows_or_changes_another_users_feeds_or_entries(
    serve: Serve, alice: Reader, bob: Reader
) -> None:
    theirs = library_entries(serve, alice)
    their_feed = alice.feed_ids["tech"]
    # Bob's lists are his: feeds, labels, counts.
    subs = bob.json("/reader/api/0/subscription/list")["subscriptions"]
    assert [s["id"] for s in subs] == [f"feed/{bob.feed_ids['own']}"]
    tags = {t["id"] for t in bob.json("/reader/api/0/tag/list")["tags"]}
    assert tags == {STARRED, "user/-/label/Tech"}
    counts = bob.json("/reader/api/0/unread-count")["unreadcounts"]
    assert {c["id"]: c["count"] for c in counts} == {
        f"feed/{bob.feed_ids['own']}": 2, "user/-/label/Tech": 2, READING_LIST: 2,
    }  # fmt: skip
    # Bob's streams hold his entries only, whatever the stream.
    mine = library_entries(serve, bob)
    for stream in (READING_LIST, "user/-/label/Tech", "user/-/label/News", KEPT_UNREAD):
        assert set(ids_of(bob, {"s": stream, "n": "1000"})) <= set(mine), stream
    assert bob.json("/reader/api/0/stream/contents/user/-/label/News")["items"] == []
    # Alice's feed and user, by id, as streams: not found or refused.
    for path in (f"/reader/api/0/stream/contents/feed/{their_feed}",
                 f"/reader/atom/feed/{their_feed}"):  # fmt: skip
        assert bob.get(path).status == 404, path
    assert bob.get("/reader/api/0/stream/items/ids", s=f"feed/{their_feed}").status == 404
    assert bob.get("/reader/api/0/stream/items/ids",
                   s=f"user/{alice.id}/state/com.google/reading-list").status == 400  # fmt: skip
    # Her entries by id, in every form: nothing shown.
    for form in (str(theirs[0]), f"{LONG}{theirs[0]:016x}", f"{theirs[0]:016x}"):
        assert bob.json("/reader/api/0/stream/items/contents", {"i": form})["items"] == []
    # Nothing changed: not her state, not her subscriptions.
    assert bob.post("/reader/api/0/edit-tag", [("i", str(i)) for i in theirs]
                    + [("a", READ), ("a", STARRED)]).text == "OK"  # fmt: skip
    assert bob.post("/reader/api/0/mark-all-as-read", {"s": f"feed/{their_feed}"}).status == 404
    assert bob.post("/reader/api/0/subscription/edit",
                    {"ac": "unsubscribe", "s": f"feed/{their_feed}"}).status == 404  # fmt: skip
    assert bob.post("/reader/api/0/subscription/edit",
                    {"ac": "edit", "s": f"feed/{their_feed}", "t": "x"}).status == 404  # fmt: skip
    assert bob.post("/reader/api/0/mark-all-as-read", {"s": READING_LIST}).text == "OK"
    assert library_entries(serve, alice, read=True) == []
    assert library_entries(serve, alice, starred=True) == []
    with Library(serve.db) as lib:
        assert lib.feed(alice.id, their_feed).user_title is None
        assert lib.counts(alice.id).total == 6
    # And Bob's own reading list was his to mark.
    assert library_entries(serve, bob, read=False) == []


# -- the Atom stream -----------------------------------------------------------------------


def test_atom_stream_carries_the_state_newsboat_reads(serve: Serve, alice: Reader) -> None:
    from xml.etree import ElementTree  # noqa: PLC0415

    tech = alice.feed_ids["tech"]
    newest = library_entries(serve, alice, feed=tech)[0]
    alice.post("/reader/api/0/edit-tag", {"i": str(newest), "a": READ})
    answer = alice.get(f"/reader/atom/feed/{tech}", n="20")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ElementTree.fromstring(answer.body)
    assert root.findtext("a:title", namespaces=ns) == f"{alice.name} tech"
    entries = root.findall("a:entry", ns)
    assert len(entries) == 3
    labels = {
        e.findtext("a:id", namespaces=ns): {
            c.get("label") for c in e.findall("a:category", ns)
            if c.get("scheme") == "http://www.google.com/reader/"
        }
        for e in entries
    }  # fmt: skip
    assert "read" in labels[f"{LONG}{newest:016x}"]
    assert all("kept-unread" in v for k, v in labels.items() if k != f"{LONG}{newest:016x}")
    # The feed as newsboat names it: its id escaped in the path.
    escaped = alice.get(f"/reader/atom/feed%2F{tech}", n="1")
    assert escaped.status == 200
    assert escaped.body.count(b"<entry>") == 1


def test_a_form_too_big_is_refused_whole(serve: Serve, carol: Reader) -> None:
    huge = call(serve.url, "/reader/api/0/edit-tag", auth=carol.auth,
                form={"i": "1" * (9 * 2**20), "a": READ})  # fmt: skip
    assert huge.status == 413
    many = call(serve.url, "/reader/api/0/edit-tag", auth=carol.auth,
                form=[("i", "1")] * 100_001)  # fmt: skip
    assert many.status == 413
    assert library_entries(serve, carol, read=True) == []


def test_what_is_refused_is_logged(serve: Serve, alice: Reader) -> None:
    assert alice.get("/reader/api/0/stream/items/ids", s="pop/-/topic/nothing").status == 400
    wait_for(lambda: any("unknown stream 'pop/-/topic/nothing'" in line and alice.name in line
                         for line in serve.said), what="the refusal in serve's log")  # fmt: skip


# -- the google-reader client (PyPI) ------------------------------------------------------

CLIENTS = Path(__file__).parent / "clients"
PYTHON_312 = [Path("/root/.pyenv/versions/3.12.1/bin/python"), Path("/usr/bin/python3.12")]


@pytest.fixture(scope="session")
def google_reader_python(pytestconfig: pytest.Config) -> Path:
    """A Python 3.12 virtual environment with the pinned client, made once and kept in
    pytest's cache (remade when the pins change)."""
    pins = (CLIENTS / "google-reader.txt").read_text()
    assert pytestconfig.cache is not None
    home = pytestconfig.cache.mkdir("google-reader-venv")
    python = home / "bin" / "python"
    stamp = home / "pins.txt"
    if python.exists() and stamp.exists() and stamp.read_text() == pins:
        return python
    base = os.environ.get("RSSMANIA_PYTHON312") or next(
        (str(p) for p in PYTHON_312 if p.exists()), shutil.which("python3.12")
    )
    if base is None:
        pytest.fail("google-reader needs Python 3.12: set RSSMANIA_PYTHON312 to one")
    subprocess.run([base, "-m", "venv", "--clear", str(home)], check=True, timeout=120)
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(CLIENTS / "google-reader.txt")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    stamp.write_text(pins)
    return python


def google_reader(python: Path, reader: Reader, *operations: list[object]) -> list[Any]:
    done = subprocess.run(
        [str(python), str(CLIENTS / "google_reader_client.py"), reader.base, reader.name,
         PASSWORD],
        input=json.dumps(list(operations)), capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results: list[Any] = json.loads(done.stdout)
    return results


@pytest.mark.slow
def test_the_google_reader_client_syncs_both_ways(
    serve: Serve, feeds: FeedServer, google_reader_python: Path
) -> None:
    reader = make_reader(
        serve, feeds, {"tech": ("Tech", 3), "news": ("News", 2), "loose": (None, 1)}
    )
    py = google_reader_python
    tech, news = reader.feed_ids["tech"], reader.feed_ids["news"]
    user, subs, tags = google_reader(py, reader, ["user"], ["subscriptions"], ["tags"])
    assert user["user_name"] == reader.name
    assert {s["id"]: [c["label"] for c in s["categories"]] for s in subs} == {
        f"feed/{tech}": ["Tech"], f"feed/{news}": ["News"], f"feed/{reader.feed_ids['loose']}": [],
    }  # fmt: skip
    assert {t["id"] for t in tags} >= {"user/-/label/Tech", "user/-/label/News", STARRED}

    # Unread counts as the client finds them, stream by stream: the web UI's.
    def unread_in_client() -> dict[str, int]:
        streams = [READING_LIST, f"feed/{tech}", f"feed/{news}", "user/-/label/Tech"]
        found = google_reader(py, reader, *(["ids", s, {"exclude_target": READ}] for s in streams))
        return {s: len(ids) for s, ids in zip(streams, found, strict=True)}

    with Library(serve.db) as lib:
        counts = lib.counts(reader.id)
    assert unread_in_client() == {
        READING_LIST: counts.total, f"feed/{tech}": counts.feeds[tech],
        f"feed/{news}": counts.feeds[news], "user/-/label/Tech": counts.categories["Tech"],
    }  # fmt: skip
    assert counts.total == 6
    assert counts.feeds[tech] == 3

    # Read and starred in the client: so in the Library (the web UI's state).
    ids = google_reader(py, reader, ["ids", f"feed/{tech}", {}])[0]
    contents = google_reader(py, reader, ["contents", ids])[0]
    assert [c["title"] for c in contents] == [f"{reader.name}tech article {i}" for i in (2, 1, 0)]
    google_reader(py, reader, ["edit_tags", ids[:2], [READ], None],
                  ["edit_tags", [contents[2]["id"]], [STARRED], None])  # fmt: skip
    assert library_entries(serve, reader, read=True) == [int(i) for i in ids[:2]]
    assert library_entries(serve, reader, starred=True) == [int(ids[2])]
    google_reader(py, reader, ["edit_tags", [ids[1]], None, [READ]])
    assert library_entries(serve, reader, read=True) == [int(ids[0])]

    # And the other way round: the Library's marks, seen by the client.
    news_ids = library_entries(serve, reader, feed=news)
    with Library(serve.db) as lib:
        lib.mark_read(reader.id, news_ids[:1])
        lib.star(reader.id, news_ids[1:])
        lib.unstar(reader.id, [int(ids[2])])
    read_ids, starred_ids, shown = google_reader(
        py, reader, ["ids", READING_LIST, {"include_target": READ}],
        ["ids", READING_LIST, {"include_target": STARRED}], ["contents", [str(news_ids[1])]],
    )  # fmt: skip
    assert sorted(map(int, read_ids)) == sorted([int(ids[0]), news_ids[0]])
    assert list(map(int, starred_ids)) == news_ids[1:]
    assert STARRED in shown[0]["categories"]
    assert READ not in shown[0]["categories"]
    with Library(serve.db) as lib:
        counts = lib.counts(reader.id)
    assert unread_in_client()[READING_LIST] == counts.total == 4

    # Mark all read, and subscriptions from the client.
    url = feeds.set(f"/{reader.name}/quick.xml", rss("Quick", items(f"{reader.name}q", 1)))
    added, _, _ = google_reader(
        py, reader, ["quick_add", url], ["mark_all_as_read", "user/-/label/News"],
        ["edit_subscription", f"feed/{tech}", "edit",
         {"title": "Renamed", "add_label_id": "user/-/label/Later"}],
    )  # fmt: skip
    assert added["stream_id"].startswith("feed/")
    google_reader(py, reader, ["rename_tag", "user/-/label/News", "Press"],
                  ["disable_tag", "user/-/label/Later"])  # fmt: skip
    with Library(serve.db) as lib:
        assert lib.feed(reader.id, news).category == "Press"
        assert lib.feed(reader.id, tech).category is None
    with Library(serve.db) as lib:
        assert lib.counts(reader.id).categories.get("News", 0) == 0
        assert lib.feed(reader.id, tech).user_title == "Renamed"
        assert url in {f.url for f in lib.feeds(reader.id)}


# -- newsboat's feedhq source ---------------------------------------------------------------


def newsboat_home(tmp_path: Path, serve: Serve, reader: Reader) -> tuple[list[str], dict[str, str]]:
    """A newsboat of the test's own: its config, cache and home; the command to run it."""
    home = tmp_path / "home"
    (home / ".newsboat").mkdir(parents=True)
    config = tmp_path / "config"
    config.write_text(
        'urls-source "feedhq"\n'
        # serve.url ends with a slash: newsboat then asks for //accounts/ClientLogin.
        f'feedhq-url "{serve.url}"\n'
        f'feedhq-login "{reader.name}"\n'
        f'feedhq-password "{PASSWORD}"\n'
        'feedhq-flag-star "s"\n'
        "feedhq-min-items 50\n"
        "show-read-feeds yes\n"
        "confirm-exit no\n"
        "cleanup-on-quit no\n"
    )
    (tmp_path / "urls").write_text("")
    env = {"HOME": str(home), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "screen-256color"}
    # Its debug log stays beside the cache: what it sent, when a test fails.
    argv = ["newsboat", "-C", str(config), "-c", str(tmp_path / "cache.db"),
            "-u", str(tmp_path / "urls"), "-l", "6",
            "-d", str(tmp_path / "newsboat.log")]  # fmt: skip
    return argv, env


def run_newsboat(argv: list[str], env: dict[str, str], *commands: str) -> str:
    done = subprocess.run(
        [*argv, "-x", *commands], env={**os.environ, **env}, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_newsboat_reads_marks_read_and_stars_through_feedhq(
    serve: Serve, feeds: FeedServer, tmp_path: Path
) -> None:
    if shutil.which("newsboat") is None or shutil.which("tmux") is None:
        pytest.fail("newsboat and tmux are missing: run `bash tests/install-system-packages.sh`")
    from tests.tmux import terminal  # noqa: PLC0415

    reader = make_reader(serve, feeds, {"alpha": ("Tech", 3), "beta": ("News", 2)})
    argv, env = newsboat_home(tmp_path, serve, reader)
    # Unread counts: newsboat's after a reload, the Library's (the web UI's).
    said = run_newsboat(argv, env, "reload", "print-unread")
    assert said.split()[0] == "5", said
    with Library(serve.db) as lib:
        beta_ids = library_entries(serve, reader, feed=reader.feed_ids["beta"])
        lib.mark_read(reader.id, beta_ids[:1])
    said = run_newsboat(argv, env, "reload", "print-unread")
    assert said.split()[0] == "4", said

    alpha = reader.feed_ids["alpha"]
    newest = library_entries(serve, reader, feed=alpha)[0]
    with terminal(argv, cwd=tmp_path, env=env) as term:
        # The subscriptions, by their titles.
        shown = term.wait_for(f"{reader.name} alpha")
        # Each feed's "(unread/total)" is the Library's (after beta's first was read there).
        with Library(serve.db) as lib:
            counts = lib.counts(reader.id).feeds
        for name, total in (("alpha", 3), ("beta", 2)):
            unread = counts[reader.feed_ids[name]]
            assert re.search(rf"\({unread}/{total}\) {reader.name} {name}$", shown, re.M), shown
        # Down to alpha (below newsboat's own "Starred items"... and beta), open it, then
        # its newest article: read.
        lines = [line for line in shown.splitlines() if re.match(r"\s+\d+ ", line)]
        place = next(i for i, line in enumerate(lines) if line.endswith(f"{reader.name} alpha"))
        term.keys(*["Down"] * place, "Enter")
        term.wait_for(f"{reader.name}alpha article 2")
        term.keys("Enter")
        term.wait_for(f"Body of {reader.name}alpha 2")
        # newsboat marks it read with the next key pressed in the article: back to the list.
        term.keys("q")
        wait_for(lambda: newest in library_entries(serve, reader, read=True),
                 timeout=20, what="the article newsboat opened marked read")  # fmt: skip
        term.wait_for(f"{reader.name}alpha article 1")
        # Flag it "s": starred.
        term.keys("C-e")
        term.wait_for("Flags:")
        term.keys("s", "Enter")
        wait_for(lambda: newest in library_entries(serve, reader, starred=True),
                 timeout=20, what="the article newsboat flagged starred")  # fmt: skip
        # N toggles the next article's read state (the cursor is on the newest still).
        term.keys("Down", "N")
        second = library_entries(serve, reader, feed=alpha)[1]
        wait_for(lambda: second in library_entries(serve, reader, read=True),
                 timeout=20, what="the article marked read with N")  # fmt: skip
        term.keys("q", "q")
        wait_for(lambda: not term.running(), timeout=20, what="newsboat quit")
    with Library(serve.db) as lib:
        assert lib.counts(reader.id).total == 2
    said = run_newsboat(argv, env, "reload", "print-unread")
    assert said.split()[0] == "2", said
