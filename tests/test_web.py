"""The web reader in a real browser: `rssmania serve` on 127.0.0.1, Debian's chromium.

One `serve` (with its poller, every feed polled each second) and one browser for the
module; each test has a user of its own, its own feeds on the test feed server, and a
fresh browser context. The views are driven through the page objects of web_pages.py.
"""

from __future__ import annotations

import itertools
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from rssmania import Library
from tests.conftest import cli_env, rssmania
from tests.feedserver import FeedServer, Item, items, rss
from tests.web_pages import FeedsPage, HealthPage, LoginPage, ReaderPage

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"


# -- the server under test ---------------------------------------------------------------


@dataclass
class Serve:
    """A running `rssmania serve`: its address, its database, what it said on stderr."""

    url: str
    db: Path
    process: subprocess.Popen[str]
    said: list[str] = field(default_factory=list)


@contextmanager
def serving(db: Path, *args: str, startup: float = 30.0) -> Iterator[Serve]:
    """`rssmania serve --port 0 ARGS` until the block ends; then SIGTERM, and a clean exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rssmania", "serve", "--port", "0", *args],
        env=cli_env(db),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    said: list[str] = []
    ready = threading.Event()
    found: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            said.append(line)
            if match := re.search(r"Reader at (http://\S+/)", line):
                found.append(match.group(1))
                ready.set()
        ready.set()  # the process ended: no need to wait any longer

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        ready.wait(startup)
        if not found:
            raise AssertionError(f"serve did not say where it listens: {''.join(said)!r}")
        yield Serve(found[0], db, process, said)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError("serve did not stop within 20 s of SIGTERM") from None
        reader.join(5)
    output = "".join(said)
    assert code == 0, f"serve exited with {code} after SIGTERM:\n{output}"
    assert "Traceback" not in output, output
    assert "Stopped." in output or "--no-poll" in args, output


@pytest.fixture(scope="module")
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    folder = tmp_path_factory.mktemp("serve")
    db = folder / "feeds.sqlite"
    password_file = folder / "password"
    password_file.write_text(PASSWORD + "\n")
    added = rssmania(db, "user", "add", "alice", "--password-file", str(password_file))
    assert added.returncode == 0, added.stderr
    with serving(db, "--interval", "1") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash tests/install-system-packages.sh`")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@dataclass
class Tab:
    """A browser context and its page, with what the page said on its console and the
    errors thrown by its scripts (none are allowed: checked when the test ends)."""

    context: BrowserContext
    page: Page
    console: list[ConsoleMessage] = field(default_factory=list)
    errors: list[PlaywrightError] = field(default_factory=list)

    # Methods, not list.append: Playwright tags each handler with an attribute.
    def heard(self, message: ConsoleMessage) -> None:
        self.console.append(message)

    def threw(self, error: PlaywrightError) -> None:
        self.errors.append(error)


@contextmanager
def new_tab(browser: Browser, serve: Serve, **options: object) -> Iterator[Tab]:
    context = browser.new_context(base_url=serve.url, **options)  # type: ignore[arg-type]
    context.set_default_timeout(5_000)
    page = context.new_page()
    tab = Tab(context, page)
    page.on("console", tab.heard)
    page.on("pageerror", tab.threw)
    try:
        yield tab
    finally:
        context.close()
    assert not tab.errors, f"the page threw: {tab.errors}"


@pytest.fixture
def tab(browser: Browser, serve: Serve) -> Iterator[Tab]:
    with new_tab(browser, serve) as t:
        yield t


@pytest.fixture
def page(tab: Tab) -> Page:
    return tab.page


# -- accounts and subscriptions --------------------------------------------------------

_numbers = itertools.count(1)


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    password: str = PASSWORD


@pytest.fixture
def account(serve: Serve) -> Account:
    """A user of this test alone: counts, read state and throttling are the test's own."""
    name = f"reader{next(_numbers)}"
    with Library(serve.db) as lib:
        user = lib.add_user(name, PASSWORD)
    return Account(user.id, name)


def subscribe(serve: Serve, account: Account, url: str) -> None:
    """Through the Library: the web's own "add" is what tests 2 and 3 are about."""
    with Library(serve.db) as lib:
        lib.add_feed(account.id, url)


def publish(feeds: FeedServer, path: str, title: str, entries: list[Item]) -> str:
    return feeds.set(path, rss(title, entries))


# -- 1. logging in and out --------------------------------------------------------------


def test_log_in_refuses_a_wrong_password_then_lands_on_unread_and_logs_out(page: Page) -> None:
    login = LoginPage(page).open()
    login.submit("alice", "not the password")
    expect(login.error).to_have_text("Wrong name or password.")
    expect(page).to_have_url(re.compile(r"/login$"))

    login.submit("alice", PASSWORD)
    reader = ReaderPage(page)
    expect(reader.heading).to_have_text("Unread")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page).to_have_title(re.compile("^Unread"))

    reader.log_out("alice")
    page.goto("/")  # the session is gone: the reader asks to log in again
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


# -- 2, 3. subscribing --------------------------------------------------------------------


def test_a_feed_added_by_its_url_shows_its_articles(
    page: Page, feeds: FeedServer, account: Account
) -> None:
    url = publish(feeds, "/t2/feed.xml", "Second test", items("t2", 2))
    LoginPage(page).log_in(account.name, account.password)
    manage = FeedsPage(page).open()
    manage.subscribe(url)
    expect(manage.message).to_have_text(
        f"Subscribed to {url}: its articles come with the next poll."
    )
    expect(manage.feed_row(url)).to_be_visible()

    reader = ReaderPage(page).open()
    reader.wait_listed("t2 article 0", "t2 article 1")
    assert reader.titles() == ["t2 article 1", "t2 article 0"]  # newest first
    expect(reader.unread_count).to_have_text("2")
    expect(reader.side.get_by_role("link", name="Second test")).to_be_visible()


def test_a_site_address_subscribes_to_the_feed_it_links_to(
    page: Page, feeds: FeedServer, account: Account
) -> None:
    feed_url = publish(feeds, "/t3/f.xml", "Third test", items("t3", 1))
    site = feeds.set(
        "/t3/",
        "<!doctype html><html><head><title>A site</title>"
        '<link rel="alternate" type="application/rss+xml" title="Its feed" href="/t3/f.xml">'
        "</head><body><p>Welcome</p></body></html>",
        content_type="text/html; charset=utf-8",
    )
    LoginPage(page).log_in(account.name, account.password)
    manage = FeedsPage(page).open()
    manage.subscribe(site)
    expect(manage.message).to_contain_text(f"Subscribed to {feed_url}")
    expect(manage.feed_row(feed_url)).to_be_visible()

    reader = ReaderPage(page).open()
    reader.wait_listed("t3 article 0")


# -- 4. reading -----------------------------------------------------------------------------


def test_reading_with_clicks_and_keys(
    tab: Tab, feeds: FeedServer, serve: Serve, account: Account
) -> None:
    page = tab.page
    originals = [
        feeds.set(f"/t4/{i}.html", f"<p>Original {i}</p>", content_type="text/html")
        for i in range(3)
    ]
    entries = [
        Item(f"t4-{i}", f"t4 article {i}", originals[i], f"<p>Body {i}</p>", 1_700_000_000 + i)
        for i in range(3)
    ]
    subscribe(serve, account, publish(feeds, "/t4/feed.xml", "Fourth test", entries))
    LoginPage(page).log_in(account.name, account.password)
    reader = ReaderPage(page)
    reader.wait_listed("t4 article 0", "t4 article 1", "t4 article 2")
    expect(reader.unread_count).to_have_text("3")

    reader.open_article("t4 article 2")  # a click
    expect(reader.article).to_contain_text("Body 2")
    reader.expect_read("t4 article 2")
    reader.expect_read("t4 article 1", read=False)

    reader.press("j")
    reader.expect_showing("t4 article 1")
    reader.expect_read("t4 article 1")
    reader.press("k")
    reader.expect_showing("t4 article 2")

    reader.press("m")  # read -> unread
    reader.expect_action("Mark read")
    reader.expect_read("t4 article 2", read=False)
    reader.press("m")  # and back
    reader.expect_action("Mark unread")
    reader.expect_read("t4 article 2")

    reader.press("s")
    reader.expect_action("★ Starred")
    reader.expect_starred("t4 article 2")

    with page.expect_popup() as popup:
        reader.press("v")
    original = popup.value
    original.wait_for_load_state()
    assert original.url == originals[2]
    expect(original.locator("body")).to_have_text("Original 2")
    original.close()

    page.reload()  # two of three read: one left, the read ones gone from Unread
    expect(reader.unread_count).to_have_text("1")
    assert reader.titles() == ["t4 article 0"]

    reader.go_to("Starred")
    expect(reader.heading).to_have_text("Starred")
    assert reader.titles() == ["t4 article 2"]


# -- 5. mark all read, undo ------------------------------------------------------------------


def test_mark_all_read_and_undo(
    page: Page, feeds: FeedServer, serve: Serve, account: Account
) -> None:
    subscribe(serve, account, publish(feeds, "/t5/feed.xml", "Fifth test", items("t5", 3)))
    reader = LoginPage(page).log_in(account.name, account.password)
    titles = ["t5 article 2", "t5 article 1", "t5 article 0"]
    reader.wait_listed(*titles)

    reader.press("A")
    expect(reader.toast).to_contain_text("3 marked read.")
    expect(reader.entries).to_have_count(0)
    reader.toast.get_by_role("button", name="Undo").click()
    expect(reader.toast).to_contain_text("3 unread again.")
    page.reload()
    expect(reader.unread_count).to_have_text("3")
    assert reader.titles() == titles

    reader.mark_all_read_button.click()  # the button does what A does
    expect(reader.toast).to_contain_text("3 marked read.")
    page.reload()
    expect(reader.unread_count).to_have_text("0")
    expect(reader.empty).to_contain_text("Nothing unread.")


def test_undo_of_mark_all_read_shows_the_rows_again(
    tab: Tab, feeds: FeedServer, serve: Serve, account: Account
) -> None:
    subscribe(serve, account, publish(feeds, "/t5b/feed.xml", "Fifth again", items("t5b", 2)))
    reader = LoginPage(tab.page).log_in(account.name, account.password)
    reader.wait_listed("t5b article 0", "t5b article 1")
    reader.press("A")
    expect(reader.toast).to_contain_text("2 marked read.")
    reader.toast.get_by_role("button", name="Undo").click()
    expect(reader.toast).to_contain_text("2 unread again.")
    expect(reader.entries).to_have_count(2, timeout=500)  # they came with the toast, or never


# -- 6. search -------------------------------------------------------------------------------


def test_search_box_finds_the_article(
    page: Page, feeds: FeedServer, serve: Serve, account: Account
) -> None:
    entries = [
        Item("t6-a", "Zebras at dawn", "https://example.org/t6/a", "<p>stripes</p>", 1.7e9),
        Item("t6-b", "Giraffes at noon", "https://example.org/t6/b", "<p>necks</p>", 1.7e9 + 60),
    ]
    subscribe(serve, account, publish(feeds, "/t6/feed.xml", "Sixth test", entries))
    reader = LoginPage(page).log_in(account.name, account.password)
    reader.wait_listed("Zebras at dawn", "Giraffes at noon")

    reader.press("/")
    expect(reader.search_box).to_be_focused()
    page.keyboard.type("stripes")
    page.keyboard.press("Enter")
    expect(reader.heading).to_have_text("Search: stripes")
    expect(reader.entries).to_have_count(1)
    assert reader.titles() == ["Zebras at dawn"]
    expect(reader.search_box).to_have_value("stripes")


# -- 7. the keyboard map ---------------------------------------------------------------------


def test_question_mark_lists_the_keys(page: Page, account: Account) -> None:
    reader = LoginPage(page).log_in(account.name, account.password)
    expect(reader.keys).to_be_hidden()
    reader.press("?")
    expect(reader.keys).to_be_visible()
    expect(reader.keys.get_by_role("heading")).to_have_text("Keys")
    for what in ("next, previous article", "read / unread", "star / unstar", "search"):
        expect(reader.keys).to_contain_text(what)
    reader.keys.get_by_role("button", name="Close").click()
    expect(reader.keys).to_be_hidden()


# -- 8. live -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_new_article_is_announced_without_reloading(
    page: Page, feeds: FeedServer, serve: Serve, account: Account
) -> None:
    path = "/t8/feed.xml"
    subscribe(serve, account, publish(feeds, path, "Eighth test", items("t8", 1)))
    reader = LoginPage(page).log_in(account.name, account.password)
    reader.wait_listed("t8 article 0")
    expect(reader.live).to_be_hidden()
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    publish(feeds, path, "Eighth test", items("t8", 2))
    expect(reader.live).to_have_text("1 new — show", timeout=10_000)
    assert navigations == [], "the page reloaded"
    assert reader.titles() == ["t8 article 0"]

    reader.live.click()
    reader.wait_listed("t8 article 1")


# -- 9. OPML -----------------------------------------------------------------------------------


def test_opml_download_then_upload_into_another_account(
    browser: Browser,
    page: Page,
    feeds: FeedServer,
    serve: Serve,
    account: Account,
    tmp_path: Path,
) -> None:
    url = publish(feeds, "/t9/feed.xml", "Ninth test", items("t9", 1))
    subscribe(serve, account, url)
    LoginPage(page).log_in(account.name, account.password)
    download = FeedsPage(page).open().download_opml(tmp_path / "mine.opml")
    assert download.suggested_filename == "subscriptions.opml"
    assert url in (tmp_path / "mine.opml").read_text()

    (tmp_path / "password").write_text("their own password\n")
    added = rssmania(
        serve.db, "user", "add", "t9other", "--password-file", str(tmp_path / "password")
    )
    assert added.returncode == 0, added.stderr
    with new_tab(browser, serve) as other:
        LoginPage(other.page).log_in("t9other", "their own password")
        theirs = FeedsPage(other.page).open()
        expect(theirs.table.locator("tbody tr")).to_have_count(0)
        theirs.import_opml(tmp_path / "mine.opml")
        expect(theirs.message).to_have_text("Imported 1 feeds; 0 skipped.")
        expect(theirs.feed_row(url)).to_be_visible()
        ReaderPage(other.page).open().wait_listed("t9 article 0")


# -- 10. health --------------------------------------------------------------------------------


def test_a_failing_feed_shows_on_the_health_page(
    page: Page, feeds: FeedServer, serve: Serve, account: Account
) -> None:
    good = publish(feeds, "/t10/good.xml", "Tenth good", items("t10", 1))
    bad = feeds.set("/t10/bad.xml", "on fire", status=500, content_type="text/plain")
    subscribe(serve, account, good)
    subscribe(serve, account, bad)
    LoginPage(page).log_in(account.name, account.password)
    health = HealthPage(page).open()
    health.wait_health(good, "ok")
    health.wait_health(bad, "failed in a row")
    expect(health.health_of(good)).to_have_text("ok")
    expect(health.health_of(bad)).to_have_text("1 failed in a row: HTTP 500 Internal Server Error")
    expect(health.status_of(bad)).to_have_text("500")
    expect(page.get_by_text("1 of 2 feeds need a look.")).to_be_visible()

    health.show("failing")
    expect(page).to_have_url(re.compile(r"show=failing"))
    expect(health.row(bad)).to_be_visible()
    expect(health.row(good)).to_have_count(0)

    manage = FeedsPage(page).open()  # subscribing to it says why it cannot
    manage.subscribe(bad)
    expect(manage.error).to_have_text(f"{bad}: the site answered 500 Internal Server Error")


# -- 11. a hostile feed ------------------------------------------------------------------------


def test_a_hostile_feed_runs_nothing(
    tab: Tab, feeds: FeedServer, serve: Serve, account: Account
) -> None:
    page = tab.page
    hostile = [
        Item(
            "t11-script",
            "Script",
            "https://example.org/t11/1",
            "<p>one</p><script>window.pwned=1</script>",
            1.7e9,
        ),
        Item(
            "t11-img",
            "Image",
            "https://example.org/t11/2",
            '<p>two</p><img src=x onerror="window.pwned=2">',
            1.7e9 + 60,
        ),
        Item(
            "t11-link",
            "Link",
            "https://example.org/t11/3",
            '<p>three</p><a href="javascript:window.pwned=3">x</a>',
            1.7e9 + 120,
        ),
        Item(
            "t11-title",
            'Tricky <img src=x onerror="window.pwned=4"> title',
            "https://example.org/t11/4",
            "<p>four</p>",
            1.7e9 + 180,
        ),
    ]
    subscribe(serve, account, publish(feeds, "/t11/feed.xml", "Hostile", hostile))
    reader = LoginPage(page).log_in(account.name, account.password)
    reader.wait_listed("Script", "Image", "Link", "Tricky title")  # markup dropped from titles

    for title, text in (("Script", "one"), ("Image", "two"), ("Link", "three")):
        reader.open_article(title)
        expect(reader.article).to_contain_text(text)
    page.wait_for_function(  # the image has loaded or failed: an onerror would have run
        "() => [...document.querySelectorAll('#article img')].every(i => i.complete)"
    )
    links = reader.article.locator(".content a")
    expect(links).to_have_count(1)
    assert not (links.get_attribute("href") or "").lower().startswith("javascript:")
    links.click()  # inert: nowhere to go, nothing to run
    reader.open_article("Tricky title")
    expect(reader.article.locator("h1 img")).to_have_count(0)

    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.evaluate("document.querySelectorAll('#article script').length") == 0
    assert tab.errors == []
    # What may be said: the CSP refusing something, the image "x" not found.
    allowed = re.compile(r"Content Security Policy|status of 404")
    said = [m.text for m in tab.console if m.type == "error" and not allowed.search(m.text)]
    assert said == []


# -- 12. a phone ---------------------------------------------------------------------------------

PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True}


def test_on_a_phone(browser: Browser, feeds: FeedServer, serve: Serve, account: Account) -> None:
    subscribe(serve, account, publish(feeds, "/t12/feed.xml", "Twelfth test", items("t12", 2)))
    with new_tab(browser, serve, **PHONE) as phone:
        page = phone.page
        reader = LoginPage(page).log_in(account.name, account.password)
        reader.wait_listed("t12 article 0", "t12 article 1")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scroll
        expect(reader.side).to_be_hidden()
        row = reader.row("t12 article 1").bounding_box()
        assert row is not None
        assert row["x"] >= 0
        assert row["width"] > 300

        reader.menu.click()
        expect(reader.side).to_be_visible()
        expect(reader.side.get_by_role("link", name="Twelfth test")).to_be_visible()
        reader.go_to("Twelfth test")
        expect(reader.heading).to_have_text("Twelfth test")
        expect(reader.side).to_be_hidden()

        reader.open_article("t12 article 1")
        box = reader.article_pane.bounding_box()
        assert box is not None
        assert box["x"] == 0
        assert box["width"] == 375
        expect(reader.article.get_by_role("button", name="Mark unread")).to_be_in_viewport()


def test_on_a_phone_the_menu_and_an_article_close_again(
    browser: Browser, account: Account, serve: Serve, feeds: FeedServer
) -> None:
    subscribe(serve, account, publish(feeds, "/t12b/feed.xml", "Phone", items("t12b", 2)))
    with new_tab(browser, serve, **PHONE) as phone:
        reader = LoginPage(phone.page).log_in(account.name, account.password)
        reader.menu.click()
        expect(reader.side).to_be_visible()
        phone.page.get_by_role("button", name="Close the feeds").click(timeout=2000)
        expect(reader.side).to_be_hidden(timeout=2000)
        reader.menu.click()
        expect(reader.side).to_be_visible()
        phone.page.keyboard.press("Escape")
        expect(reader.side).to_be_hidden(timeout=2000)
        reader.wait_listed("t12b article 1")
        phone.page.get_by_text("t12b article 1").click()
        back = phone.page.get_by_role("button", name="Back to the list")
        expect(back).to_be_visible()
        back.click()
        expect(back).to_be_hidden()
        expect(phone.page.get_by_text("t12b article 0")).to_be_in_viewport()


# -- 13. login throttling -------------------------------------------------------------------------


@pytest.mark.slow
def test_five_wrong_passwords_refuse_the_right_one(browser: Browser, tmp_path: Path) -> None:
    # A serve of its own: the throttle counts per address too, and every test is 127.0.0.1.
    db = tmp_path / "feeds.sqlite"
    with Library(db) as lib:
        lib.add_user("mallory", PASSWORD)
    with serving(db, "--workers", "1") as alone, new_tab(browser, alone) as t:
        login = LoginPage(t.page).open()
        for _ in range(5):
            login.submit("mallory", "guess")
            expect(login.error).to_have_text("Wrong name or password.")
        login.submit("mallory", PASSWORD)
        expect(login.error).to_have_text(re.compile(r"^Too many failed attempts: try again in"))
        expect(t.page).to_have_url(re.compile(r"/login"))


# -- 14. CSRF and the Host header -----------------------------------------------------------------


def test_changes_need_the_csrf_token_and_a_known_host(
    tab: Tab, feeds: FeedServer, serve: Serve, account: Account
) -> None:
    subscribe(serve, account, publish(feeds, "/t14/feed.xml", "Fourteenth", items("t14", 1)))
    reader = LoginPage(tab.page).log_in(account.name, account.password)
    reader.wait_listed("t14 article 0")
    star = f"/entries/{reader.entry_id('t14 article 0')}/star"

    refused = tab.context.request.post(star)
    assert refused.status == 403
    assert "CSRF" in refused.text()
    refused = tab.context.request.post(star, form={"csrf": "not the token"})
    assert refused.status == 403

    tab.page.reload()
    expect(reader.starred_count).to_have_text("0")
    allowed = tab.context.request.post(star, headers={"X-CSRF-Token": reader.csrf_token()})
    assert allowed.status == 200
    tab.page.reload()
    expect(reader.starred_count).to_have_text("1")

    # DNS rebinding: a name that is not this server's is refused before any route.
    foreign = tab.context.request.get("/", headers={"Host": "evil.example"})
    assert foreign.status == 400


# -- serve without its poller ------------------------------------------------------------------


def test_serve_without_polling_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with serving(tmp_path / "feeds.sqlite", "--no-poll"):  # its user has no password: loopback
        pass
