"""The Miniflux API v1 and the Fever API against a real `rssmania serve` on 127.0.0.1.

Driven by clients nobody here wrote: the `miniflux` package from PyPI (and
newsboat's `miniflux` source, in test_api_newsboat.py); raw requests where a
test is about what is on the wire (credentials, ids, errors), and for Fever,
whose clients are apps, as its documentation describes.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import miniflux
import pytest
import requests

from rssmania import Library
from tests.feedserver import FeedServer, items, rss, wait_for
from tests.test_web import PASSWORD, Serve, serving

_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    db = tmp_path_factory.mktemp("serve") / "feeds.sqlite"
    with Library(db) as lib:
        lib.add_user("admin", PASSWORD)
    with serving(db, "--interval", "3600") as running:
        yield running


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    token: str
    feeds: dict[str, int]
    """Feed ids by the path of the test server that serves them."""

    @property
    def basic(self) -> tuple[str, str]:
        return (self.name, PASSWORD)


def make_account(serve: Serve, feeds: FeedServer, *, articles: int = 3) -> Account:
    """A user of the test's own with two feeds in "Tech" and one in no category,
    polled until every article is stored."""
    name = f"mf{next(_numbers)}"
    paths = {f"/{name}/a.xml": "Tech", f"/{name}/b.xml": "Tech", f"/{name}/c.xml": None}
    with Library(serve.db) as lib:
        user = lib.add_user(name, PASSWORD)
        token = lib.new_token(name)
        ids = {}
        for path, category in paths.items():
            url = feeds.set(path, rss(f"{name} {path[-5]}", items(f"{name}{path[-5]}", articles)))
            ids[path] = lib.add_feed(user.id, url, category=category).id
        wait_for(
            lambda: lib.counts(user.id).total == articles * len(paths),
            timeout=30,
            what="the feeds polled",
        )
    return Account(user.id, name, token, ids)


@pytest.fixture
def account(serve: Serve, feeds: FeedServer) -> Account:
    return make_account(serve, feeds)


def client(serve: Serve, account: Account, *, token: bool = True) -> miniflux.Client:
    if token:
        return miniflux.Client(serve.url, api_key=account.token)
    return miniflux.Client(serve.url, username=account.name, password=PASSWORD)


# -- the miniflux client --------------------------------------------------------------


@pytest.mark.parametrize("token", [True, False], ids=["api-key", "password"])
def test_subscriptions_categories_and_counts_as_the_client_sees_them(
    serve: Serve, account: Account, token: bool
) -> None:
    c = client(serve, account, token=token)
    assert c.me()["username"] == account.name
    assert c.get_version()["version"].startswith("2.")
    feeds = c.get_feeds()
    assert sorted(f["id"] for f in feeds) == sorted(account.feeds.values())
    by_id = {f["id"]: f for f in feeds}
    assert by_id[account.feeds[f"/{account.name}/a.xml"]]["category"]["title"] == "Tech"
    assert by_id[account.feeds[f"/{account.name}/c.xml"]]["category"]["title"] == "All"
    categories = {cat["title"]: cat for cat in c.get_categories()}
    assert set(categories) == {"All", "Tech"}

    with Library(serve.db) as lib:
        counts = lib.counts(account.id)
    counters = c.get_feed_counters()
    assert {int(k): v for k, v in counters["unreads"].items()} == {
        k: v for k, v in counts.feeds.items() if v
    }
    counted = requests.get(
        f"{serve.url}v1/categories?counts=true", headers={"X-Auth-Token": account.token}, timeout=10
    ).json()
    unread = {cat["title"]: cat["total_unread"] for cat in counted}
    assert unread["Tech"] == counts.categories["Tech"] == 6
    assert unread["All"] == 3
    assert c.get_entries(status="unread", limit=1)["total"] == counts.total == 9


def test_marking_read_and_starring_go_both_ways(serve: Serve, account: Account) -> None:
    c = client(serve, account)
    listed = c.get_entries(status=["unread"], direction="asc", order="id", limit=100)
    ids = [e["id"] for e in listed["entries"]]
    assert len(ids) == 9
    assert ids == sorted(ids)
    c.update_entries(ids[:2], status="read")
    c.toggle_bookmark(ids[2])
    with Library(serve.db) as lib:
        read = lib.entries(account.id, read=True, limit=100).entries
        starred = lib.entries(account.id, starred=True, limit=100).entries
        assert sorted(e.entry_id for e in read) == ids[:2]
        assert [e.entry_id for e in starred] == [ids[2]]
        assert lib.counts(account.id).total == 7
        # And the other way: what the web UI (the Library) changes, the client sees.
        lib.mark_unread(account.id, [ids[0]])
        lib.star(account.id, [ids[3]])
        lib.mark_read(account.id, [ids[4]])
    assert c.get_entry(ids[0])["status"] == "unread"
    assert c.get_entry(ids[3])["starred"] is True
    assert c.get_entry(ids[4])["status"] == "read"
    assert c.get_entries(starred=True)["total"] == 2
    c.toggle_bookmark(ids[2])
    assert c.get_entry(ids[2])["starred"] is False


def test_entry_filters_and_paging(serve: Serve, account: Account) -> None:
    c = client(serve, account)
    tech = {cat["title"]: cat["id"] for cat in c.get_categories()}["Tech"]
    a = account.feeds[f"/{account.name}/a.xml"]
    assert c.get_category_entries(tech)["total"] == 6
    assert c.get_feed_entries(a)["total"] == 3
    everything = c.get_entries(order="id", direction="asc")["entries"]
    first, second = (
        c.get_entries(order="id", direction="asc", limit=4, offset=o)["entries"] for o in (0, 4)
    )
    assert [e["id"] for e in first + second] == [e["id"] for e in everything][:8]
    middle = everything[4]["id"]
    after = c.get_entries(after_entry_id=middle, order="id", direction="asc")["entries"]
    assert [e["id"] for e in after] == [e["id"] for e in everything if e["id"] > middle]
    before = c.get_entries(before_entry_id=middle)["entries"]
    assert {e["id"] for e in before} == {e["id"] for e in everything if e["id"] < middle}
    found = c.get_entries(search=f"{account.name}b article 1")["entries"]
    assert [e["title"] for e in found] == [f"{account.name}b article 1"]
    newest = c.get_entries(direction="desc", limit=1)["entries"][0]
    assert newest["published_at"] == max(e["published_at"] for e in everything)
    # "status" repeated, as the client sends a list.
    c.update_entries([everything[0]["id"]], status="read")
    both = c.get_entries(status=["read", "unread"])["total"]
    assert both == 9
    assert c.get_entries(status="read")["total"] == 1


def test_mark_all_read_of_a_feed_a_category_and_the_user(serve: Serve, account: Account) -> None:
    c = client(serve, account)
    cats = {cat["title"]: cat["id"] for cat in c.get_categories()}
    c.mark_feed_entries_as_read(account.feeds[f"/{account.name}/a.xml"])
    assert c.get_entries(status="unread")["total"] == 6
    c.mark_category_entries_as_read(cats["All"])
    assert c.get_entries(status="unread")["total"] == 3
    c.mark_category_entries_as_read(cats["Tech"])
    assert c.get_entries(status="unread")["total"] == 0
    with Library(serve.db) as lib:
        lib.mark_unread(account.id, [e.entry_id for e in lib.entries(account.id).entries])
    c.mark_user_entries_as_read(account.id)
    assert c.get_entries(status="unread")["total"] == 0


def test_feeds_and_categories_made_changed_and_removed(
    serve: Serve, account: Account, feeds: FeedServer
) -> None:
    c = client(serve, account)
    news = c.create_category("News")
    assert news["title"] == "News"
    with pytest.raises(miniflux.ClientError):
        c.create_category("News")
    url = feeds.set(f"/{account.name}/d.xml", rss("D", items(f"{account.name}d", 2)))
    made = c.create_feed(url, category_id=news["id"])
    assert c.get_feed(made)["category"]["title"] == "News"
    with pytest.raises(miniflux.ClientError) as refused:
        c.create_feed(url, category_id=news["id"])
    assert refused.value.status_code == 400  # Miniflux's code for it
    assert "already exists" in str(refused.value)
    c.update_feed(made, title="Daily")
    changed = c.get_feed(made)
    assert changed["title"] == "Daily"
    renamed = c.update_category(news["id"], "World")
    assert renamed["id"] == news["id"]
    assert c.get_feed(made)["category"]["title"] == "World"
    c.refresh_feed(made)
    c.delete_category(news["id"])
    # Its feed stays, in "All".
    assert c.get_feed(made)["category"]["title"] == "All"
    c.delete_feed(made)
    with pytest.raises(miniflux.ResourceNotFound):
        c.get_feed(made)
    with Library(serve.db) as lib:
        assert made not in {f.id for f in lib.feeds(account.id)}


def test_opml_out_and_in(serve: Serve, feeds: FeedServer) -> None:
    one = make_account(serve, feeds, articles=1)
    two = make_account(serve, feeds, articles=1)
    opml = client(serve, one).export()
    assert opml.startswith("<?xml")
    client(serve, two).import_feeds(opml)
    with Library(serve.db) as lib:
        urls = {f.url for f in lib.feeds(two.id)}
        assert {f.url for f in lib.feeds(one.id)} <= urls
    assert len(urls) == 6


# -- on the wire ------------------------------------------------------------------------

ENDPOINTS = [
    ("GET", "/v1/me"),
    ("GET", "/v1/version"),
    ("GET", "/v1/categories"),
    ("POST", "/v1/categories"),
    ("PUT", "/v1/categories/1"),
    ("DELETE", "/v1/categories/1"),
    ("GET", "/v1/categories/1/feeds"),
    ("GET", "/v1/categories/1/entries"),
    ("GET", "/v1/categories/1/entries/1"),
    ("PUT", "/v1/categories/1/mark-all-as-read"),
    ("PUT", "/v1/categories/1/refresh"),
    ("GET", "/v1/feeds"),
    ("POST", "/v1/feeds"),
    ("GET", "/v1/feeds/counters"),
    ("PUT", "/v1/feeds/refresh"),
    ("GET", "/v1/feeds/1"),
    ("PUT", "/v1/feeds/1"),
    ("DELETE", "/v1/feeds/1"),
    ("GET", "/v1/feeds/1/icon"),
    ("GET", "/v1/feeds/1/entries"),
    ("GET", "/v1/feeds/1/entries/1"),
    ("PUT", "/v1/feeds/1/mark-all-as-read"),
    ("PUT", "/v1/feeds/1/refresh"),
    ("PUT", "/v1/users/1/mark-all-as-read"),
    ("GET", "/v1/entries"),
    ("PUT", "/v1/entries"),
    ("GET", "/v1/entries/1"),
    ("PUT", "/v1/entries/1/bookmark"),
    ("PUT", "/v1/entries/1/star"),
    ("GET", "/v1/export"),
    ("POST", "/v1/import"),
    ("POST", "/v1/discover"),
    ("PUT", "/v1/flush-history"),
]


@pytest.mark.slow
def test_every_endpoint_refuses_without_credentials_or_with_wrong_ones(tmp_path: Path) -> None:
    # A server of its own: the wrong passwords below hold this address off for a while.
    db = tmp_path / "refuse.sqlite"
    with Library(db) as lib:
        lib.add_user("eve", PASSWORD)
        token = lib.new_token("eve")
    wrong = [
        {},
        {"X-Auth-Token": "not-a-token"},
        {"Authorization": "Basic " + _b64("eve:wrong")},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Bearer " + token},
    ]
    with serving(db, "--no-poll") as alone:
        for method, path in ENDPOINTS:
            for headers in wrong:
                answer = requests.request(method, alone.url + path[1:], headers=headers, timeout=10)
                assert answer.status_code == 401, (method, path, headers)
                assert answer.json() == {"error_message": "Access Unauthorized"}
        # After five wrong passwords, the right one waits too (throttled, as the web login).
        right = {"Authorization": "Basic " + _b64(f"eve:{PASSWORD}")}
        assert requests.get(alone.url + "v1/me", headers=right, timeout=10).status_code == 401
        wait_for(lambda: "refused: too many failed logins" in "".join(alone.said))
        said = "".join(alone.said)
        assert "refused: unknown API token" in said
        assert "refused: no credentials" in said


def test_two_users_never_see_or_change_each_other(serve: Serve, feeds: FeedServer) -> None:
    me = make_account(serve, feeds, articles=1)
    other = make_account(serve, feeds, articles=1)
    mine = client(serve, me)
    with Library(serve.db) as lib:
        theirs_entries = [e.entry_id for e in lib.entries(other.id).entries]
        their_category = lib.category(other.id, "Tech").id
    their_feed = next(iter(other.feeds.values()))
    entry = theirs_entries[0]
    for method, template in ENDPOINTS:
        path = template.replace("/feeds/1", f"/feeds/{their_feed}")
        path = path.replace("/categories/1", f"/categories/{their_category}")
        path = path.replace("/entries/1", f"/entries/{entry}")
        path = path.replace("/users/1", f"/users/{other.id}")
        body = {"entry_ids": theirs_entries, "status": "read", "title": "x", "category_id": 1}
        answer = requests.request(
            method, serve.url + path[1:], headers={"X-Auth-Token": me.token}, json=body, timeout=10
        )
        text = answer.text
        for e in theirs_entries:
            assert f'"id":{e},' not in text, (method, path)
        assert other.name not in text, (method, path)
        if any(part in path for part in (str(their_feed), str(their_category), str(entry))):
            assert answer.status_code in (400, 403, 404), (method, path, answer.status_code)
    with Library(serve.db) as lib:
        assert lib.counts(other.id).total == 3
        assert lib.starred_count(other.id) == 0
        assert {f.id for f in lib.feeds(other.id)} == set(other.feeds.values())
        assert lib.category(other.id, "Tech").id == their_category
    assert mine.get_entries()["total"] == 3


def test_errors_say_what_is_wrong_as_miniflux_does(serve: Serve, account: Account) -> None:
    h = {"X-Auth-Token": account.token}
    url = serve.url
    bad = requests.put(f"{url}v1/entries", headers=h, data=b"{not json", timeout=10)
    assert bad.status_code == 400
    assert "not JSON" in bad.json()["error_message"]
    bad = requests.put(f"{url}v1/entries", headers=h, json={"entry_ids": [1], "status": "x"})
    assert bad.status_code == 400
    assert bad.json()["error_message"] == "Invalid status."
    ignored = requests.get(f"{url}v1/entries?limit=ten", headers=h, timeout=10)
    assert ignored.status_code == 200  # as Miniflux: the default, and a line in the log
    wait_for(lambda: "limit='ten' is not a number: ignored" in "".join(serve.said))
    bad = requests.get(f"{url}v1/entries?direction=up", headers=h, timeout=10)
    assert bad.status_code == 400
    bad = requests.get(f"{url}v1/entries/99999999", headers=h, timeout=10)
    assert bad.status_code == 404
    assert bad.json() == {"error_message": "Resource not found"}
    bad = requests.get(f"{url}v1/feeds/abc", headers=h, timeout=10)
    assert bad.status_code == 404
    bad = requests.post(f"{url}v1/feeds", headers=h, json={"feed_url": ""}, timeout=10)
    assert bad.status_code == 400
    bad = requests.post(f"{url}v1/import", headers=h, data=b"<opml><body>", timeout=10)
    assert bad.status_code == 400
    assert bad.json()["error_message"]
    # Double slashes, as apps that join "http://host/" and "/v1/me" send.
    assert requests.get(f"{url}/v1//me", headers=h, timeout=10).json()["username"] == account.name


# -- Fever -----------------------------------------------------------------------------


def fever(serve: Serve, key: str, query: str, **form: object) -> dict[str, object]:
    answer = requests.post(
        f"{serve.url}fever/?api&{query}", data={"api_key": key, **form}, timeout=10
    )
    assert answer.status_code == 200
    found: dict[str, object] = answer.json()
    assert found["api_version"] == 3
    return found


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_fever_reads_and_marks_as_its_documentation_says(serve: Serve, account: Account) -> None:
    key = _md5(f"{account.name}:{PASSWORD}")
    groups = fever(serve, key, "groups")
    assert groups["auth"] == 1
    names = {g["title"]: g["id"] for g in groups["groups"]}  # type: ignore[index,union-attr]
    assert set(names) == {"All", "Tech"}
    members = {fg["group_id"]: fg["feed_ids"] for fg in groups["feeds_groups"]}  # type: ignore[index,union-attr]
    assert sorted(members[names["Tech"]].split(",")) == sorted(
        str(account.feeds[f"/{account.name}/{x}.xml"]) for x in "ab"
    )
    listed = fever(serve, key, "feeds")
    assert {f["id"] for f in listed["feeds"]} == set(account.feeds.values())  # type: ignore[union-attr]

    unread = fever(serve, key, "unread_item_ids")["unread_item_ids"]
    ids = sorted(int(i) for i in str(unread).split(","))
    assert len(ids) == 9
    page = fever(serve, key, "items", since_id=0)
    assert [i["id"] for i in page["items"]] == ids  # type: ignore[union-attr]
    assert page["total_items"] == 9
    assert [i["id"] for i in fever(serve, key, "items", max_id=ids[3])["items"]] == ids[2::-1]  # type: ignore[union-attr]
    picked = fever(serve, key, "items", with_ids=f"{ids[0]},{ids[5]}")["items"]
    assert sorted(i["id"] for i in picked) == [ids[0], ids[5]]  # type: ignore[union-attr]

    fever(serve, key, "", mark="item", **{"as": "read"}, id=ids[0])
    fever(serve, key, "", mark="item", **{"as": "saved"}, id=ids[1])
    assert fever(serve, key, "saved_item_ids")["saved_item_ids"] == str(ids[1])
    c = account.feeds[f"/{account.name}/c.xml"]
    fever(serve, key, "", mark="feed", **{"as": "read"}, id=c, before=2**31 - 1)
    with Library(serve.db) as lib:
        assert lib.entry(account.id, ids[0]).read
        assert lib.entry(account.id, ids[1]).starred
        assert lib.counts(account.id).feeds.get(c, 0) == 0
    fever(serve, key, "", mark="group", **{"as": "read"}, id=names["Tech"], before=2**31 - 1)
    assert fever(serve, key, "unread_item_ids")["unread_item_ids"] == ""
    assert fever(serve, key, "links")["links"] == []
    assert fever(serve, key, "favicons")["favicons"] == []


def test_fever_takes_a_token_and_refuses_anything_else(serve: Serve, account: Account) -> None:
    by_token = fever(serve, _md5(f"{account.name}:{account.token}"), "groups")
    assert by_token["auth"] == 1
    for key in ("", _md5(f"{account.name}:wrong"), "x" * 500, _md5(f"admin:{PASSWORD}") + "0"):
        refused = fever(serve, key, "groups&feeds&items&unread_item_ids")
        assert refused == {"api_version": 3, "auth": 0}
    # A query string api_key is taken too (some clients send it so).
    answer = requests.get(
        f"{serve.url}api/fever.php?api&api_key={_md5(f'{account.name}:{PASSWORD}')}", timeout=10
    ).json()
    assert answer["auth"] == 1


def test_fever_two_users(serve: Serve, feeds: FeedServer) -> None:
    me = make_account(serve, feeds, articles=1)
    other = make_account(serve, feeds, articles=1)
    key = _md5(f"{me.name}:{PASSWORD}")
    with Library(serve.db) as lib:
        theirs = [e.entry_id for e in lib.entries(other.id).entries]
        their_group = lib.category(other.id, "Tech").id
    got = fever(serve, key, "items", with_ids=",".join(map(str, theirs)))
    assert got["items"] == []
    for entry in theirs:
        for action in ("read", "saved"):
            fever(serve, key, "", mark="item", **{"as": action}, id=entry)
    fever(serve, key, "", mark="feed", **{"as": "read"}, id=next(iter(other.feeds.values())))
    fever(serve, key, "", mark="group", **{"as": "read"}, id=their_group)
    with Library(serve.db) as lib:
        assert lib.counts(other.id).total == 3
        assert lib.starred_count(other.id) == 0


def test_password_change_reaches_fever(serve: Serve, account: Account) -> None:
    new = "a new password for fever"
    with Library(serve.db) as lib:
        lib.set_password(account.name, new)
    assert fever(serve, _md5(f"{account.name}:{PASSWORD}"), "groups")["auth"] == 0
    assert fever(serve, _md5(f"{account.name}:{new}"), "groups")["auth"] == 1


# -- what apps send (from a review of Miniflux's own behaviour and its apps' code) -------


def test_liberal_in_what_apps_send(serve: Serve, account: Account) -> None:
    h = {"X-Auth-Token": account.token}
    url = serve.url + "v1/"
    ids = sorted(e["id"] for e in client(serve, account).get_entries(limit=100)["entries"])
    # A batch with an id gone since (retention, another user's): the user's are marked.
    body = {"entry_ids": [ids[0], 10**12], "status": "read"}
    mixed = requests.put(url + "entries", headers=h, json=body, timeout=10)
    assert mixed.status_code == 204
    body = {"entry_ids": [ids[1]], "starred": True}
    starred = requests.put(url + "entries", headers=h, json=body, timeout=10)
    assert starred.status_code == 204
    with Library(serve.db) as lib:
        assert lib.entry(account.id, ids[0]).read
        assert lib.entry(account.id, ids[1]).starred
    # An empty token header beside Basic credentials: the Basic ones count.
    both = {"X-Auth-Token": "", "Authorization": "Basic " + _b64(f"{account.name}:{PASSWORD}")}
    assert requests.get(url + "me", headers=both, timeout=10).status_code == 200
    challenged = requests.get(url + "me", timeout=10)
    assert challenged.headers["WWW-Authenticate"] == 'Basic realm="Restricted"'
    # Browser apps: CORS, and the preflight answered without credentials.
    preflight = requests.options(url + "entries", timeout=10)
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Auth-Token" in preflight.headers["Access-Control-Allow-Headers"]
    assert (
        requests.get(url + "me", headers=h, timeout=10).headers["Access-Control-Allow-Origin"]
        == "*"
    )
    assert (
        "Access-Control-Allow-Origin" not in requests.get(serve.url + "login", timeout=10).headers
    )

    def listed(query: str) -> list[int]:
        answer = requests.get(url + "entries?" + query, headers=h, timeout=10)
        assert answer.status_code == 200, (query, answer.text)
        return [e["id"] for e in answer.json()["entries"]]

    assert listed("order=id") == ids  # Miniflux's default direction: asc
    assert listed("order=id&limit=0") == ids  # 0: no limit
    # Zero, empty, negative and non-numbers are "not given", as Miniflux reads them.
    for query in ("before=0", "before_entry_id=0", "category_id=0", "feed_id=0", "limit=abc",
                  "offset=-1", "after_entry_id=", "starred=maybe", "changed_after=9999999999",
                  "offset=3000000000", "before_entry_id=99999999999999999999"):  # fmt: skip
        assert set(listed("order=id&" + query)) <= set(ids), query
    assert listed("order=id&offset=3000000000") == []
    assert listed("order=id&starred=maybe") == ids
    assert listed("starred=1") == [ids[1]]
    # A search rssmania's syntax cannot read is searched as plain words.
    assert listed(f"search=before:xyz {account.name}a") == []
    found = listed(f"search={account.name}a%20article%201%20(")
    assert len(found) == 1
    # Unicode digits and other odd ids: a 404, never a 500.
    for path in ("entries/%C2%B2", "feeds/%C2%B2", "feeds/-1", "entries/0", "categories/x/feeds"):
        assert requests.get(url + path, headers=h, timeout=10).status_code == 404, path
    gone = requests.get(url + "no/such/thing", headers=h, timeout=10)
    assert gone.status_code == 404
    assert "error_message" in gone.json()
    content = requests.get(url + f"entries/{ids[0]}/fetch-content", headers=h, timeout=10)
    assert content.json()["content"].startswith("<p>Body of")
    saved = requests.post(url + f"entries/{ids[0]}/save", headers=h, timeout=10)
    assert saved.status_code == 400
    assert saved.json() == {"error_message": "no third-party integration enabled"}
    feed = requests.get(url + "feeds", headers=h, timeout=10).json()[0]
    assert feed["icon"] == {"feed_id": feed["id"], "icon_id": 0}


def test_fever_pages_newest_first_from_max_id_0(serve: Serve, account: Account) -> None:
    key = _md5(f"{account.name}:{PASSWORD}")
    ids = sorted(
        int(i) for i in str(fever(serve, key, "unread_item_ids")["unread_item_ids"]).split(",")
    )
    newest = fever(serve, key, "items", max_id=0)["items"]
    assert [i["id"] for i in newest] == ids[::-1]  # type: ignore[union-attr]
    default = fever(serve, key, "items")["items"]
    assert [i["id"] for i in default] == ids[::-1]  # type: ignore[union-attr]
    for odd in ("--5", "²", "1e3", ""):
        assert fever(serve, key, "items", since_id=odd)["auth"] == 1
        assert fever(serve, key, "", mark="item", **{"as": "read"}, id=odd)["auth"] == 1
    # Group -1 is the Sparks, and there are none: nothing is marked.
    marked = fever(serve, key, "", mark="group", **{"as": "read"}, id=-1, before=2**31 - 1)
    assert sorted(int(i) for i in str(marked["unread_item_ids"]).split(",")) == ids
    read = fever(serve, key, "", mark="item", **{"as": "read"}, id=ids[0])
    assert str(ids[0]) not in str(read["unread_item_ids"]).split(",")


@pytest.mark.slow
def test_fever_keys_are_throttled_like_passwords(tmp_path: Path, feeds: FeedServer) -> None:
    db = tmp_path / "throttle.sqlite"
    with Library(db) as lib:
        lib.add_user("eve", PASSWORD)
    with serving(db, "--no-poll") as alone:
        right = _md5(f"eve:{PASSWORD}")
        assert fever(alone, right, "groups")["auth"] == 1
        for n in range(5):
            assert fever(alone, _md5(f"eve:guess{n}"), "groups")["auth"] == 0
        # The address is held off: the right key too, for now (15 minutes).
        assert fever(alone, right, "groups")["auth"] == 0
        wait_for(lambda: "too many wrong Fever api_keys" in "".join(alone.said))
