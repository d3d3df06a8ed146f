"""Page objects of the web reader: one per view, in the words a person would use.

Tests say "open the article", "the unread count", "the toast"; the selectors live here,
so that a change of markup is one edit. Every wait is on a condition with a timeout.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Download, Locator, Page, expect

RELOADING_TIMEOUT = 10.0
"""Seconds to wait for the poller: it polls a new feed within a second or two."""
GLANCE = 250
"""Milliseconds a reloaded page is given to show what is awaited before the next reload."""


def reload_until(
    page: Page, check: Callable[[], None], *, timeout: float = RELOADING_TIMEOUT
) -> None:
    """Reload until ``check`` passes: what the poller stored shows on the next load, and
    only the unread count is live. ``check`` asserts with ``GLANCE`` as its timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except AssertionError as exc:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"still not so after {timeout:g} s of reloads: {exc}"
                ) from None
            page.reload()


class LoginPage:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.error = page.get_by_role("alert")

    def open(self) -> LoginPage:
        self.page.goto("/login")
        return self

    def submit(self, name: str, password: str) -> None:
        self.page.get_by_label("Name").fill(name)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()

    def log_in(self, name: str, password: str) -> ReaderPage:
        self.open()
        self.submit(name, password)
        reader = ReaderPage(self.page)
        expect(reader.heading).to_have_text("Unread")
        return reader


class ReaderPage:
    """The lists (unread, all, starred, a feed, a search) with the article beside them."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.heading = page.locator("main h1")
        self.entries = page.locator("#entries .entry")
        self.article_pane = page.locator("#article")
        self.article = page.locator("#article article")
        self.article_title = page.locator("#article article h1")
        self.unread_count = page.locator("#total-unread")
        self.starred_count = page.locator(".side li", has_text="Starred").locator(".count")
        self.search_box = page.get_by_role("searchbox", name="Search")
        self.mark_all_read_button = page.get_by_role("button", name="Mark all read")
        self.toast = page.locator("#toast")
        self.live = page.locator("#live a")
        self.empty = page.locator("main .empty")
        self.keys = page.locator("dialog#keys")
        self.menu = page.get_by_role("button", name="Feeds")
        self.side = page.get_by_role("navigation", name="Views and feeds")

    def open(self, query: str = "") -> ReaderPage:
        self.page.goto("/" + (f"?{query}" if query else ""))
        return self

    def row(self, title: str) -> Locator:
        exactly = re.compile("^" + re.escape(title) + "$")
        return self.entries.filter(has=self.page.locator(".title", has_text=exactly))

    def titles(self) -> list[str]:
        return [t.strip() for t in self.entries.locator(".title").all_inner_texts()]

    def wait_listed(self, *titles: str, timeout: float = RELOADING_TIMEOUT) -> None:
        """Reload until every title is listed."""

        def listed() -> None:
            for title in titles:
                expect(self.row(title), f"{title!r} in {self.titles()}").to_be_visible(
                    timeout=GLANCE
                )

        reload_until(self.page, listed, timeout=timeout)

    def open_article(self, title: str) -> None:
        self.row(title).get_by_role("button").click()
        self.expect_showing(title)

    def expect_showing(self, title: str) -> None:
        """The article is shown, and its row is the current one (highlighted)."""
        expect(self.article_title).to_have_text(title)
        self.settled()
        expect(self.row(title)).to_have_class(re.compile(r"\bcurrent\b"))

    def settled(self) -> None:
        """What was just drawn has settled. Until then, htmx shows a swapped element with
        the classes of the one it replaces (for CSS transitions) and its new buttons do
        nothing: a key pressed at once would be lost, as no person could press it."""
        expect(self.page.locator(".htmx-settling, .htmx-swapping")).to_have_count(0)

    def expect_action(self, name: str) -> None:
        """The article offers this button (its label says the state: "Mark unread")."""
        expect(self.article_button(name)).to_be_visible()
        self.settled()

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def expect_read(self, title: str, read: bool = True) -> None:
        """The row is shown as read (dimmed), or as unread (bold)."""
        pattern = re.compile(r"\bread\b")
        if read:
            expect(self.row(title)).to_have_class(pattern)
        else:
            expect(self.row(title)).not_to_have_class(pattern)

    def expect_starred(self, title: str) -> None:
        expect(self.row(title)).to_have_class(re.compile(r"\bstarred\b"))

    def entry_id(self, title: str) -> int:
        return int(self.row(title).get_attribute("data-id") or "0")

    def article_button(self, name: str) -> Locator:
        return self.article.get_by_role("button", name=name)

    def go_to(self, view: str) -> None:
        """A view of the side bar: Unread, All, Starred, or a feed's name."""
        self.side.get_by_role("link", name=view, exact=True).click()
        self.page.wait_for_load_state()

    def csrf_token(self) -> str:
        token: str = self.page.evaluate("document.body.dataset.csrf")
        return token

    def log_out(self, name: str) -> LoginPage:
        self.side.get_by_role("button", name=f"Log out {name}").click()
        login = LoginPage(self.page)
        expect(self.page).to_have_url(re.compile(r"/login$"))
        return login


class FeedsPage:
    """/feeds: subscribe by a feed's or a site's address, OPML out and in, the feed list."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.message = page.locator("p.message")
        self.error = page.locator("main p.error")
        self.table = page.locator("table.feeds")

    def open(self) -> FeedsPage:
        self.page.goto("/feeds")
        expect(self.page.get_by_role("heading", name="Feeds")).to_be_visible()
        return self

    def subscribe(self, address: str) -> None:
        self.page.get_by_label("A feed's or a site's address").fill(address)
        self.page.get_by_role("button", name="Subscribe").first.click()
        self.page.wait_for_load_state()

    def feed_row(self, url: str) -> Locator:
        return self.table.locator("tbody tr").filter(has_text=url)

    def download_opml(self, to: Path) -> Download:
        with self.page.expect_download() as info:
            self.page.get_by_role("link", name="Download OPML").click()
        download = info.value
        download.save_as(to)
        return download

    def import_opml(self, path: Path) -> None:
        self.page.get_by_label("Import OPML").set_input_files(path)
        self.page.get_by_role("button", name="Import", exact=True).click()
        self.page.wait_for_load_state()


class HealthPage:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.table = page.locator("table.health")

    def open(self, show: str = "all") -> HealthPage:
        self.page.goto(f"/health?show={show}")
        expect(self.page.get_by_role("heading", name="Health")).to_be_visible()
        return self

    def row(self, url: str) -> Locator:
        return self.table.locator("tbody tr").filter(has_text=url)

    def status_of(self, url: str) -> Locator:
        """The Status column of the feed's row: the last HTTP status."""
        return self.row(url).locator("td").nth(2)

    def health_of(self, url: str) -> Locator:
        """The Health column of the feed's row ("ok", or how it fails)."""
        return self.row(url).locator("td").nth(3)

    def wait_health(self, url: str, text: str | re.Pattern[str]) -> None:
        """Reload until the feed's health says ``text``: the poller tells no page."""
        reload_until(
            self.page, lambda: expect(self.health_of(url)).to_contain_text(text, timeout=GLANCE)
        )

    def show(self, label: str) -> None:
        self.page.locator("nav.filters").get_by_role("link", name=label, exact=True).click()
        self.page.wait_for_load_state()
