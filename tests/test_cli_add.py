"""`add` and `import` as a person uses them: sites, several feeds, feeds already followed.

In-process through click's CliRunner, against a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from rssmania.cli import cli
from tests.feedserver import FeedServer, items, rss

PAGE = """<!doctype html><html><head><title>A blog</title>{links}</head>
<body><p>Hello</p></body></html>"""


def invoke(db: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--db", str(db), *args], env={"COLUMNS": "100"}, catch_exceptions=False
    )


def subscribed(db: Path) -> list[str]:
    return [json.loads(line)["url"] for line in invoke(db, "list", "--json").stdout.splitlines()]


def page(server: FeedServer, path: str, *links: tuple[str, str]) -> str:
    head = "".join(
        f'<link rel="alternate" type="application/rss+xml" title="{title}" href="{href}">'
        for href, title in links
    )
    return server.set(path, PAGE.format(links=head), content_type="text/html; charset=utf-8")


def test_add_of_a_site_subscribes_to_the_feed_its_page_names(server: FeedServer, db: Path) -> None:
    feed = server.set("/blog/posts.rss", rss("Posts", items("p", 1)))
    site = page(server, "/blog/", ("posts.rss", "Posts"))
    result = invoke(db, "add", site)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Added {feed} (found at {site})\n"
    assert subscribed(db) == [feed]


def test_add_of_a_site_naming_several_lists_them_and_first_takes_one(
    server: FeedServer, db: Path
) -> None:
    posts = server.set("/posts.xml", rss("Posts", items("p", 1)))
    comments = server.set("/comments.xml", rss("Comments", items("c", 1)))
    site = page(server, "/", (posts, "Posts"), (comments, "Comments"))
    listed = invoke(db, "add", site)
    assert listed.exit_code == 2
    assert f"{site} names 2 feeds" in listed.output
    assert f"  {posts}  Posts\n  {comments}  Comments" in listed.output
    assert "--first" in listed.output
    assert not db.exists() or subscribed(db) == []
    taken = invoke(db, "add", "--first", site)
    assert taken.exit_code == 0, taken.output
    assert subscribed(db) == [posts]


def test_a_site_that_names_no_feed_is_looked_at_in_the_usual_places(
    server: FeedServer, db: Path
) -> None:
    site = page(server, "/")
    atom = server.set("/atom.xml", rss("At the usual place", items("a", 1)))
    result = invoke(db, "add", site)
    assert result.exit_code == 0, result.output
    assert subscribed(db) == [atom]
    # /feed and /rss.xml were tried first, /index.xml never.
    assert [server.count(p) for p in ("/feed", "/rss.xml", "/atom.xml", "/index.xml")] == [
        1,
        1,
        1,
        0,
    ]


def test_a_page_with_no_feed_anywhere_is_bad_input(server: FeedServer, db: Path) -> None:
    site = page(server, "/nothing/")
    result = invoke(db, "add", site)
    assert result.exit_code == 2
    assert "no feed here" in result.output
    assert "/feed, /rss.xml, /atom.xml, /index.xml" in result.output


def test_an_address_without_a_scheme_is_tried_as_https(db: Path) -> None:
    # Nothing listens on port 9: the address is kept as given, with https.
    result = invoke(db, "add", "127.0.0.1:9/blog")
    assert result.exit_code == 0, result.output
    assert subscribed(db) == ["https://127.0.0.1:9/blog"]
    assert "connection refused" in result.stderr
    assert "ssl:default" not in result.stderr  # aiohttp's words stay for -v


def test_a_feed_url_is_taken_without_a_request(server: FeedServer, db: Path) -> None:
    feed = server.set("/f.xml", rss("F", items("f", 1)))
    assert invoke(db, "add", feed).exit_code == 0
    assert server.count("/f.xml") == 0


def test_add_and_import_say_already_subscribed_the_same_way(
    server: FeedServer, db: Path, tmp_path: Path
) -> None:
    a, b = server.url("/a.xml"), server.url("/b.xml")
    assert invoke(db, "add", a).exit_code == 0
    again = invoke(db, "add", a, b)
    assert again.exit_code == 0, again.output
    assert again.stdout == f"Added {b}\n"
    assert again.stderr == f"Already subscribed: 1 feed ({a})\n"
    opml = tmp_path / "subs.opml"
    assert invoke(db, "export", str(opml)).exit_code == 0
    imported = invoke(db, "import", str(opml))
    assert imported.exit_code == 0
    assert imported.stdout == f"Imported 0 feeds from {opml}\n"
    assert imported.stderr == f"Already subscribed: 2 feeds ({a}, {b})\n"
