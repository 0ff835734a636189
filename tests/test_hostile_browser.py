"""Every page in a real browser (Debian's Chromium, driven by Playwright) over a warehouse whose
customer text is hostile everywhere (tests/hostile_fixture.py): no request leaves for an address the
page did not mean to reach, nothing runs, no customer text becomes a link or an image, and the app's
own words beside a name carrying a bidi override still read left to right. One server, each page
visited once."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, Route

from tests import hostile_fixture
from tests.served_app import screenshot, served_app, settle

pytestmark = pytest.mark.browser

# Every page; the review, the review summary, the failure modes and the prompts are visited by the tests
# that also open a call, a tooltip or a popover on them.
PAGES = ("overview", "calibration", "failure-mode-list", "judges", "drift", "compare", "ingest", "export")

# The x position of each letter of every visible occurrence of `word`, in reading order of the text.
LETTER_POSITIONS = """word => {
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode;
        for (let at = node.data.indexOf(word); at >= 0; at = node.data.indexOf(word, at + 1)) {
            const xs = [];
            for (let k = 0; k < word.length; k++) {
                const range = document.createRange();
                range.setStart(node, at + k);
                range.setEnd(node, at + k + 1);
                const box = range.getBoundingClientRect();
                if (box.width > 0) xs.push(box.left);
            }
            if (xs.length === word.length) found.push(xs);
        }
    }
    return found;
}"""


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, int]]:
    warehouse, session_id, position = hostile_fixture.build(tmp_path_factory.mktemp("hostile"))
    with served_app(warehouse) as url:
        yield url, session_id, position


@pytest.fixture(scope="module")
def visit(browser: Browser, hostile_app: tuple[str, str, int]) -> Iterator[tuple[Page, list[str], list[str]]]:
    """A page whose every request is recorded: the app's own are let through, any other is
    refused and kept in `strays`; `scripts` keeps any dialog a script opened."""
    url = hostile_app[0]
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    strays: list[str] = []
    scripts: list[str] = []

    def guard(route: Route) -> None:
        if route.request.url.startswith((url + "/", "data:", "blob:")) or route.request.url == url:
            route.continue_()
        else:
            strays.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("dialog", lambda dialog: (scripts.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    settle(page)
    yield page, strays, scripts
    context.close()


def open_page(page: Page, address: str) -> None:
    page.goto(address)
    settle(page)
    page.wait_for_timeout(500)  # images and iframes a page might load after the script has run


def assert_nothing_leaked(page: Page, strays: list[str], scripts: list[str], where: str) -> None:
    assert strays == [], f"{where}: the page asked for {strays}"
    assert scripts == [] and page.evaluate("window.__pwned") is None, where
    assert page.locator(f"a[href*='{hostile_fixture.TRAP[7:]}'], img[src*='127.0.0.2']").count() == 0, where
    assert page.locator("[data-testid='stException']").count() == 0, where


def reads_in_order(page: Page, word: str) -> list[list[float]]:
    """Every visible occurrence of `word`; each must have its letters left to right."""
    occurrences = page.evaluate(LETTER_POSITIONS, word)
    for xs in occurrences:
        assert xs == sorted(xs), f"“{word}” is shown reordered: letter positions {xs}"
    return occurrences


def test_every_page_keeps_hostile_text_inert(visit: tuple[Page, list[str], list[str]],
                                            hostile_app: tuple[str, str, int]) -> None:
    page, strays, scripts = visit
    url = hostile_app[0]
    for name in PAGES:
        open_page(page, f"{url}/{name}")
        assert_nothing_leaked(page, strays, scripts, name)
    start, end = hostile_fixture.PERIOD
    open_page(page, f"{url}/failure-modes?start={start}&end={end}&call={quote(hostile_fixture.CALL_ID)}")
    screenshot(page, "hostile-failure-modes")
    assert page.locator(".st-key-transcript").count() == 1, "the hostile call opens"
    assert page.locator(".st-key-transcript a").count() == 0, "no address in a transcript becomes a link"
    assert_nothing_leaked(page, strays, scripts, "a hostile call on the failure-mode page")
    open_page(page, f"{url}/calls?start={start}&end={end}&q=second+line&call={quote(hostile_fixture.CALL_ID)}")
    screenshot(page, "hostile-calls")
    assert page.locator(".st-key-transcript").count() == 1, "the hostile call opens from the search"
    assert_nothing_leaked(page, strays, scripts, "a hostile transcript found on the Calls page")
    for step in ("Model", "Tool"):  # a model's messages and system prompt, a tool's arguments and error
        page.get_by_label("See a step").click()
        page.keyboard.type(step)
        page.keyboard.press("Enter")
        page.locator(".st-key-step_detail").get_by_text("second line", exact=False).first.wait_for()
        settle(page)
        screenshot(page, f"hostile-step-{step.lower()}")
        assert_nothing_leaked(page, strays, scripts, f"a hostile {step.lower()} step's detail")


def test_the_review_shows_hostile_names_in_order_and_loads_nothing(visit: tuple[Page, list[str], list[str]],
                                                                   hostile_app: tuple[str, str, int]) -> None:
    page, strays, scripts = visit
    url, session_id, position = hostile_app
    open_page(page, f"{url}/review")
    assert_nothing_leaked(page, strays, scripts, "review sessions")
    open_page(page, f"{url}/review?session={session_id}&call={position}")
    header = page.get_by_text("· prompt", exact=False).first
    assert header.inner_text().startswith("agent "), "the call is the hostile agent's"
    assert reads_in_order(page, "prompt"), "the call's header shows the app's word after the agent"
    page.wait_for_selector("iframe[title='ui.call_player.call_player']", timeout=30_000)
    player = next(frame for frame in page.frames if "call_player" in frame.url)
    player.get_by_text("second line", exact=False).first.wait_for()  # the hostile transcript, in the player
    assert player.locator("a, img").count() == 0, "the player shows the transcript as text"
    page.locator(".st-key-scoring [data-testid='stTooltipIcon']").first.hover()  # the failure modes' help
    page.wait_for_selector("[data-testid='stTooltipContent']")
    page.wait_for_timeout(500)
    assert "mode" in page.locator("[data-testid='stTooltipContent']").inner_text()
    assert_nothing_leaked(page, strays, scripts, "the review of a hostile call and its help")
    screenshot(page, "hostile-review")


def test_download_captions_show_names_as_text(visit: tuple[Page, list[str], list[str]],
                                              hostile_app: tuple[str, str, int]) -> None:
    page, strays, scripts = visit
    url, session_id, _ = hostile_app
    for address, after_the_name in ((f"{url}/prompts", "every"), (f"{url}/review-summary?session={session_id}", "Oct")):
        open_page(page, address)
        page.get_by_role("button", name="Download table").first.click()
        caption = page.get_by_text("rows ·", exact=False).first
        caption.wait_for()
        page.wait_for_timeout(500)
        assert "<img" in caption.inner_text(), "the name is shown as the text it is"
        assert reads_in_order(page, after_the_name), address
        assert_nothing_leaked(page, strays, scripts, f"the download popover of {address}")
        page.keyboard.press("Escape")
