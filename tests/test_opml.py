"""OPML reading and writing: rssmania._opml."""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rssmania import Aggregator
from rssmania._opml import MAX_FOLDER_DEPTH, OpmlOutline, parse_opml, write_opml
from rssmania.exceptions import InvalidOPMLError

NOW = datetime(2024, 3, 5, 7, 8, 9, tzinfo=UTC)


def opml(body: str, *, version: str = "2.0") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="{version}">'
        f"<head><title>t</title></head><body>{body}</body></opml>"
    ).encode()


def sort_key(outline: OpmlOutline) -> tuple[str, str, str, str]:
    return (outline.category or "", outline.url, outline.title or "", outline.site_url or "")


# --- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            '<outline text="A" xmlUrl="http://a/f" htmlUrl="http://a/"/>',
            [OpmlOutline("http://a/f", "A", None, "http://a/")],
            id="top-level",
        ),
        pytest.param(
            '<outline text="Tech"><outline text="Python">'
            '<outline text="P" xmlUrl="http://p/f"/></outline>'
            '<outline text="T" xmlUrl="http://t/f"/></outline>'
            '<outline text="U" xmlUrl="http://u/f"/>',
            [
                OpmlOutline("http://p/f", "P", "Tech/Python"),
                OpmlOutline("http://t/f", "T", "Tech"),
                OpmlOutline("http://u/f", "U", None),
            ],
            id="nested-folders-in-document-order",
        ),
        pytest.param(
            '<outline title="Only title"><outline title="F" xmlUrl="http://f/"/></outline>',
            [OpmlOutline("http://f/", "F", "Only title")],
            id="title-when-no-text",
        ),
        pytest.param(
            '<outline text="Text" title="Title" xmlUrl="http://f/"/>',
            [OpmlOutline("http://f/", "Text", None)],
            id="text-wins-over-title",
        ),
        pytest.param(
            '<outline xmlUrl="http://f/"/><outline text="" title="  " xmlUrl="http://g/"/>',
            [OpmlOutline("http://f/", None, None), OpmlOutline("http://g/", None, None)],
            id="no-title",
        ),
        pytest.param(
            '<outline text="http://f/" xmlUrl="http://f/"/>',
            [OpmlOutline("http://f/", None, None)],
            id="text-repeating-url-is-no-title",
        ),
        pytest.param(
            # What exports wrote for a feed not polled yet: its real title comes later.
            '<outline text="http://f/" title="http://f/" xmlUrl="http://f/"/>',
            [OpmlOutline("http://f/", None, None)],
            id="title-repeating-url-is-no-title",
        ),
        pytest.param(
            '<outline text="  Spaced \n" xmlUrl="  http://f/ " htmlUrl=" "/>'
            '<outline text=" Dir "><outline text="x" xmlUrl="http://x/"/></outline>',
            [OpmlOutline("http://f/", "Spaced", None), OpmlOutline("http://x/", "x", "Dir")],
            id="whitespace-trimmed",
        ),
        pytest.param(
            '<outline text="empty" xmlUrl=""/><outline text="blank" xmlUrl="   "/>'
            '<outline text="kept" xmlUrl="http://k/"/>',
            [OpmlOutline("http://k/", "kept", None)],
            id="empty-xmlurl-skipped",
        ),
        pytest.param(
            '<outline text="ftp" xmlUrl="ftp://x/f"/><outline text="rel" xmlUrl="feed.xml"/>',
            [OpmlOutline("ftp://x/f", "ftp", None), OpmlOutline("feed.xml", "rel", None)],
            id="url-schemes-not-checked",
        ),
        pytest.param(
            '<outline text="a" xmlUrl="http://d/"/><outline text="b" xmlUrl="http://d/"/>',
            [OpmlOutline("http://d/", "a", None), OpmlOutline("http://d/", "b", None)],
            id="duplicates-kept",
        ),
        pytest.param(
            '<outline text="Dir"><outline text="Feed" xmlUrl="http://f/">'
            '<outline text="Child" xmlUrl="http://c/"/></outline></outline>',
            [OpmlOutline("http://f/", "Feed", "Dir"), OpmlOutline("http://c/", "Child", "Dir")],
            id="feed-under-a-feed-is-not-a-folder",
        ),
        pytest.param(
            '<outline><outline text="F" xmlUrl="http://f/"/></outline>',
            [OpmlOutline("http://f/", "F", None)],
            id="nameless-folder-adds-no-path",
        ),
        pytest.param(
            '<group><outline text="F" xmlUrl="http://f/"/></group>',
            [OpmlOutline("http://f/", "F", None)],
            id="non-outline-wrapper-searched",
        ),
        pytest.param("", [], id="empty-body"),
    ],
)
def test_parse(body: str, expected: list[OpmlOutline]) -> None:
    assert parse_opml(opml(body)) == expected


@pytest.mark.parametrize(
    ("outline", "expected"),
    [
        ('category="/Tech/Python"', "Tech/Python"),
        ('category="Tech/Python"', "Tech/Python"),
        ('category="/Tech/Python/,/News"', "Tech/Python"),
        ('category=" / Tech // Python "', "Tech/Python"),
        ('category=""', None),
        ('category="/"', None),
        ('CATEGORY="/News"', "News"),
    ],
)
def test_category_attribute_at_top_level(outline: str, expected: str | None) -> None:
    [parsed] = parse_opml(opml(f'<outline text="F" xmlUrl="http://f/" {outline}/>'))
    assert parsed.category == expected


def test_category_attribute_ignored_inside_a_folder() -> None:
    body = '<outline text="Dir"><outline text="F" xmlUrl="http://f/" category="/Other"/></outline>'
    assert parse_opml(opml(body)) == [OpmlOutline("http://f/", "F", "Dir")]


@pytest.mark.parametrize(
    "attributes",
    [
        'text="F" xmlUrl="http://f/" htmlUrl="http://s/"',
        'text="F" xmlurl="http://f/" htmlurl="http://s/"',
        'text="F" xmlURL="http://f/" htmlURL="http://s/"',
        'TEXT="F" XMLURL="http://f/" HTMLURL="http://s/"',
        'Title="F" XmlUrl="http://f/" HtmlUrl="http://s/"',
    ],
)
def test_attribute_names_are_case_insensitive(attributes: str) -> None:
    body = f'<outline Text="Dir"><outline {attributes}/></outline>'
    assert parse_opml(opml(body)) == [OpmlOutline("http://f/", "F", "Dir", "http://s/")]


def test_opml_1_0_and_namespaces() -> None:
    data = (
        b'<opml version="1.0" xmlns="http://example.com/ns"><head/><body>'
        b'<outline text="F" type="rss" xmlUrl="http://f/"/></body></opml>'
    )
    assert parse_opml(data) == [OpmlOutline("http://f/", "F", None)]


def test_non_utf8_encoding() -> None:
    data = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><opml><body>'
        '<outline text="Caf\xe9" xmlUrl="http://f/"/></body></opml>'
    ).encode("latin-1")
    assert parse_opml(data) == [OpmlOutline("http://f/", "Caf\xe9", None)]


def test_deep_nesting_does_not_recurse() -> None:
    # 100,000 levels: the path was copied at each one (quadratic: minutes at
    # 200,000); folders past MAX_FOLDER_DEPTH fold into the deepest kept one.
    depth = 100_000
    body = "<outline text='d'>" * depth + '<outline text="F" xmlUrl="http://f/"/>'
    body += "</outline>" * depth
    [parsed] = parse_opml(opml(body))
    assert parsed.category == "/".join(["d"] * MAX_FOLDER_DEPTH)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<opml><body><outline text="&lol4;" xmlUrl="http://f/"/></body></opml>"""

HTML_PAGE = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>My feeds</title></head>
<body><p>Export<br>here</p></body></html>"""


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(b"", r"^empty document$", id="empty"),
        pytest.param(b" \n\t", r"^empty document$", id="whitespace"),
        pytest.param(HTML_PAGE, r"HTML page", id="html-page-doctype"),
        pytest.param(
            b"<html><body><p>Export<br>here</p></body></html>",
            r"^this looks like an HTML page, not OPML; not well-formed XML: line 1, column \d+",
            id="html-page-not-xml",
        ),
        pytest.param(
            b"<html><body></body></html>",
            r"^root element is <html>, not <opml>$",
            id="xhtml-page",
        ),
        pytest.param(b"hello", r"^not well-formed XML: line 1, column 1 \(", id="text"),
        pytest.param(
            b'{"feeds": []}',
            r"^not well-formed XML: line 1, column 1 \(invalid token\)$",
            id="json",
        ),
        pytest.param(
            b"<opml>\n<body>\n<outline></body></opml>",
            r"^not well-formed XML: line 3, column 12 \(mismatched tag\)$",
            id="mismatched-tag",
        ),
        pytest.param(
            b"<opml><body>",
            r"^not well-formed XML: line 1, column 13 \(no element found\)$",
            id="truncated",
        ),
        pytest.param(b"<opml><body>\xff</body></opml>", r"invalid token", id="bad-utf8"),
        pytest.param(BILLION_LAUGHS, r"^<!DOCTYPE opml> refused", id="billion-laughs"),
        pytest.param(
            b'<!DOCTYPE opml SYSTEM "file:///etc/passwd"><opml><body/></opml>',
            r"^<!DOCTYPE opml> refused",
            id="external-dtd",
        ),
        pytest.param(
            b'<?xml version="1.0" encoding="no-such-codec"?><opml/>',
            r"^cannot decode: ",
            id="unknown-encoding",
        ),
        pytest.param(
            b'<?xml version="1.0" encoding="shift_jis"?><opml/>',
            r"^cannot decode: ",
            id="multibyte-encoding",
        ),
        pytest.param(
            b"<rss><channel/></rss>", r"^root element is <rss>, not <opml>$", id="rss-feed"
        ),
        pytest.param(
            b"<opml><head><title>x</title></head></opml>", r"^no <body> element$", id="no-body"
        ),
    ],
)
def test_unreadable_documents(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidOPMLError) as info:
        parse_opml(data, source="subs.opml")
    assert info.value.source == "subs.opml"
    assert re.search(reason, info.value.reason), info.value.reason
    assert str(info.value).startswith("cannot read OPML subs.opml: ")
    # The error crosses process boundaries like every rssmania error.
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.source, again.reason) == (info.value.source, info.value.reason)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_invalid_opml(data: bytes) -> None:
    with contextlib.suppress(InvalidOPMLError):
        parse_opml(data)


@given(st.text(max_size=200))
def test_arbitrary_text_raise_only_invalid_opml(text: str) -> None:
    with contextlib.suppress(InvalidOPMLError):
        parse_opml(opml(text))


# --- writing -------------------------------------------------------------------------------------


def test_write_layout() -> None:
    outlines = [
        OpmlOutline("http://u/", "Uncategorized", None),
        OpmlOutline("http://p/", "P", "Tech/Python", "http://p.site/"),
        OpmlOutline("http://t/", None, "Tech"),
        OpmlOutline("http://n/", "N", "News"),
    ]
    data = write_opml(outlines, title="My feeds", now=NOW)

    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n')
    root = ET.fromstring(data)
    assert root.findtext("head/title") == "My feeds"
    assert root.findtext("head/dateCreated") == "Tue, 05 Mar 2024 07:08:09 GMT"
    body = root.find("body")
    assert body is not None
    assert [(o.get("text"), o.get("xmlUrl")) for o in body] == [
        ("Tech", None),
        ("News", None),
        ("Uncategorized", "http://u/"),
    ]
    tech = body[0]
    assert tech.attrib == {"text": "Tech", "title": "Tech"}
    python, feed_t = tech
    assert python.attrib == {"text": "Python", "title": "Python"}
    assert feed_t.attrib == {"type": "rss", "text": "http://t/", "xmlUrl": "http://t/"}
    assert python[0].attrib == {
        "type": "rss",
        "text": "P",
        "title": "P",
        "xmlUrl": "http://p/",
        "htmlUrl": "http://p.site/",
    }
    # Pretty-printed: one element per line, indented.
    assert b'\n    <outline text="Tech" title="Tech">\n      <outline text="Python"' in data


def test_write_converts_now_to_utc_and_refuses_naive() -> None:
    paris = NOW.astimezone(timezone(timedelta(hours=1)))
    root = ET.fromstring(write_opml([], title="t", now=paris))
    assert root.findtext("head/dateCreated") == "Tue, 05 Mar 2024 07:08:09 GMT"
    with pytest.raises(ValueError, match="timezone-aware"):
        write_opml([], title="t", now=NOW.replace(tzinfo=None))


def test_write_drops_characters_xml_cannot_carry() -> None:
    data = write_opml(
        [OpmlOutline("http://f/", "a\x00b\x1bc\ud800", "x\x01y")], title="\x07", now=NOW
    )
    assert parse_opml(data) == [OpmlOutline("http://f/", "abc", "xy")]


# --- round trip ----------------------------------------------------------------------------------

ROUND_TRIP_CASES = [
    pytest.param([], id="empty"),
    pytest.param(
        [
            OpmlOutline("http://a/", "A & B <c> \"d\" 'e'", "Tech/Python", "http://a/?x=1&y=2"),
            OpmlOutline("http://b/", "Café ☕ 日本語 🎉", "Über/Ünicode", None),
            OpmlOutline("http://c/", None, None, "http://c.site/"),
            OpmlOutline("http://c/", "line\nbreak\tand tab", "Tech", None),
            OpmlOutline("http://d/", "]]> &amp; &lt;", None, None),
            OpmlOutline("http://e/", "e", "Tech/Python/Deep", None),
        ],
        id="mixed",
    ),
    pytest.param(
        [
            OpmlOutline("http://1/", "1", "A"),
            OpmlOutline("http://2/", "2", "A/B"),
            OpmlOutline("http://3/", "3", "C"),
            OpmlOutline("http://4/", "4", None),
        ],
        id="already-grouped",
    ),
]


@pytest.mark.parametrize("outlines", ROUND_TRIP_CASES)
def test_round_trip(outlines: list[OpmlOutline]) -> None:
    parsed = parse_opml(write_opml(outlines, title="Subscriptions", now=NOW))
    assert sorted(parsed, key=sort_key) == sorted(outlines, key=sort_key)


def test_round_trip_keeps_order_within_folders() -> None:
    outlines = [
        OpmlOutline("http://z/", "z", "F"),
        OpmlOutline("http://top/", "top", None),
        OpmlOutline("http://a/", "a", "F"),
        OpmlOutline("http://sub/", "sub", "F/Sub"),
        OpmlOutline("http://m/", "m", "F"),
    ]
    parsed = parse_opml(write_opml(outlines, title="t", now=NOW))
    assert parsed == [
        OpmlOutline("http://sub/", "sub", "F/Sub"),
        OpmlOutline("http://z/", "z", "F"),
        OpmlOutline("http://a/", "a", "F"),
        OpmlOutline("http://m/", "m", "F"),
        OpmlOutline("http://top/", "top", None),
    ]


# Values in the normal form parse_opml returns: stripped, non-empty, XML characters only.
xml_chars = st.characters(blacklist_categories=["Cs", "Cc"]) | st.sampled_from("\t\n\r&<>\"'")
stripped = st.text(xml_chars, min_size=1, max_size=20).map(str.strip).filter(bool)
folder_name = stripped.map(lambda s: s.replace("/", "").strip()).filter(bool)
category = st.none() | st.lists(folder_name, min_size=1, max_size=3).map("/".join)


@st.composite
def outline_strategy(draw: st.DrawFn) -> OpmlOutline:
    url = draw(stripped)
    title = draw(st.none() | stripped.filter(lambda s: s != url))
    return OpmlOutline(url, title, draw(category), draw(st.none() | stripped))


@given(st.lists(outline_strategy(), max_size=12))
def test_round_trip_property(outlines: list[OpmlOutline]) -> None:
    written = write_opml(outlines, title="t", now=NOW)
    parsed = parse_opml(written)
    assert sorted(parsed, key=sort_key) == sorted(outlines, key=sort_key)
    # Once grouped by folder, the order is stable too.
    assert parse_opml(write_opml(parsed, title="t", now=NOW)) == parsed


# --- corpus --------------------------------------------------------------------------------------


def _corpus_opml() -> Path:
    corpus = os.environ.get("RSSMANIA_CORPUS")
    if not corpus:
        pytest.skip("RSSMANIA_CORPUS is not set")
    folder = Path(corpus) / "edge-cases" / "feedjira-2009"
    if not folder.is_dir():
        pytest.fail(f"RSSMANIA_CORPUS is set but {folder} is not a directory")
    candidates = sorted(folder.glob("*.opml")) or sorted(
        path for path in folder.iterdir() if path.is_file() and b"<opml" in path.read_bytes()[:4096]
    )
    if not candidates:
        pytest.fail(f"RSSMANIA_CORPUS is set but {folder} holds no OPML file")
    return candidates[0]


def test_corpus_opml() -> None:
    path = _corpus_opml()
    data = path.read_bytes()
    outlines = parse_opml(data, source=str(path))

    # Counted independently of the parser: every non-empty xmlUrl attribute.
    expected = len(re.findall(rb'xmlUrl\s*=\s*"\s*[^"\s]', data, re.IGNORECASE))
    assert len(outlines) == expected
    assert len(outlines) >= 10
    assert all(outline.url.startswith(("http://", "https://")) for outline in outlines)
    assert sum(outline.title is not None for outline in outlines) >= len(outlines) * 0.9
    assert any(outline.category for outline in outlines)
    assert any(outline.category is None for outline in outlines)
    # And what we read, we can write back.
    rewritten = parse_opml(write_opml(outlines, title="corpus", now=NOW))
    assert sorted(rewritten, key=sort_key) == sorted(outlines, key=sort_key)


def test_a_category_is_as_deep_as_import_keeps_and_exports_whole(tmp_path: Path) -> None:
    # 1,500 levels given to add: export recursed until Python gave up, and 40
    # came back from an import as 32.
    deep = "/".join(f"L{i}" for i in range(1500))
    with Aggregator(tmp_path / "a.sqlite") as agg:
        agg.add_feed("http://d.example/", category=deep)
        agg.add_feed("http://e.example/", category=f"Tech/{deep}")
        data = agg.export_opml()
        kept = {f.url: f.category for f in agg.get_feeds()}
    assert kept["http://d.example/"] == "/".join(deep.split("/")[:MAX_FOLDER_DEPTH])
    with Aggregator(tmp_path / "b.sqlite") as other:
        other.import_opml(data)
        assert {f.url: f.category for f in other.get_feeds()} == kept


def test_control_characters_are_dropped_from_titles_and_categories(tmp_path: Path) -> None:
    with Aggregator(tmp_path / "a.sqlite") as agg:
        agg.add_feed("http://d.example/", title="T\x01x\x7f\x9b", category="A\x1b[2J/B")
        feed = agg.get_feed("http://d.example/")
        assert (feed.given_title, feed.category) == ("Tx", "A[2J/B")
        agg.import_opml(opml('<outline text="O\x7fk" xmlUrl="http://o.example/"/>'))
        assert agg.get_feed("http://o.example/").given_title == "Ok"
