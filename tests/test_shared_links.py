"""A link to a page, opened as the very first request of a fresh server, shows the page inside the
app's frame (its navigation and wide layout), not Streamlit's older one-page-per-file mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.served_app import screenshot, served_app, settle


@pytest.mark.browser
@pytest.mark.parametrize(("link", "heading"), [("drift", "Cost & latency drift"), ("overview", "Overview")])
def test_a_deep_link_on_a_fresh_server_opens_inside_the_frame(synthetic_warehouse: Path, browser: Browser, link: str,
                                                              heading: str) -> None:
    """Overview is the default page (served at the root): its own address opens it too, not "Page not found"."""
    with served_app(synthetic_warehouse) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/{link}?start=2026-10-01&end=2026-10-28")
        settle(page)
        screenshot(page, f"deep-link-{link}")
        nav = page.locator('[data-testid="stSidebarNav"]')
        assert nav.get_by_text("Overview", exact=True).is_visible()
        assert nav.get_by_text("Cost & latency drift", exact=True).is_visible()
        assert nav.get_by_text("app", exact=True).count() == 0
        assert page.get_by_role("heading", name=heading).is_visible()
        assert page.get_by_text("Page not found").count() == 0
        assert page.url.endswith(f"/{link}?start=2026-10-01&end=2026-10-28")
