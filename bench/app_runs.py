"""The app's runs as the browser sees them, for the benchmarks that time an interaction in Chromium
(bench/review.py, bench/filters.py).

A run is seen in the messages the app sends the browser (a WebSocket hook), not in the page's
"running" flag: a run of a few milliseconds can finish before the browser ever draws that flag.
Install `WATCH` before the app loads (`page.add_init_script`); `wait_for_answer` then waits for
the app's answer to the last key or pointer press."""

from __future__ import annotations

from playwright.sync_api import Page

# Installed before the app loads: the time of every message to and from the app, of every change of
# Streamlit's run state, and of the last key or pointer press (0 until one: the page's navigation).
WATCH = """(() => {
  window.__sent = []; window.__got = []; window.__runs = []; window.__key = 0;
  const mark = () => { window.__key = performance.now(); };
  document.addEventListener('keydown', mark, true);
  document.addEventListener('pointerdown', mark, true);
  const Native = window.WebSocket;
  window.WebSocket = function (...args) {
    const socket = new Native(...args);
    const send = socket.send.bind(socket);
    socket.send = (data) => { window.__sent.push(performance.now()); return send(data); };
    socket.addEventListener('message', () => {
      const at = performance.now();
      window.__got.push(at);
      requestAnimationFrame(() => { window.__drawn = Math.max(window.__drawn || 0, performance.now()); });
    });
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, Native);
  new MutationObserver(() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.__watched) return;
    app.__watched = true;
    new MutationObserver(() => window.__runs.push([performance.now(), app.getAttribute('data-test-script-state')]))
      .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  }).observe(document, {childList: true, subtree: true});
})()"""
# Since the last press: how many messages went to the app, and, once it has answered and been quiet for
# QUIET_MS with nothing running, the milliseconds until its last answer was drawn; else null.
ANSWERED = """([quiet]) => {
  const since = window.__key, now = performance.now();
  const sent = window.__sent.filter((t) => t >= since).length;
  const got = window.__got.filter((t) => t >= since);
  const app = document.querySelector('[data-testid="stApp"]');
  if (!sent || !got.length || app.getAttribute('data-test-script-state') !== 'notRunning') return null;
  const last = got[got.length - 1];
  if (now - last < quiet) return null;
  const flips = window.__runs.filter(([t]) => t >= since).map(([t]) => t);
  return {took: Math.max(window.__drawn || last, last, ...flips) - since, sent};
}"""


def wait_for_answer(page: Page, quiet_ms: float, timeout_ms: float, polling: float | str = "raf") -> dict:
    """The app's answer to the last press (or to the page's navigation, before any press): `took`,
    the milliseconds from the press until its last message was drawn and its run had ended, and
    `sent`, the messages the press sent the app. Raises Playwright's TimeoutError when the press
    sent nothing, or the app did not finish, within `timeout_ms`. `polling`: how often to look
    (every frame, or every so many ms: looking every frame costs the browser ~7% of a core). The
    times come from the hook, not from when it is looked at."""
    return page.wait_for_function(ANSWERED, arg=[quiet_ms], timeout=timeout_ms, polling=polling).json_value()
