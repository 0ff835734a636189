/* Scoring keys for the weekly review: 1–5 score, P pass, F fail, N notes (Esc leaves them), S save and
   next. Each key clicks the form's own control (or focuses the notes), so a key does exactly what the
   mouse does and reruns only the form. Keys do nothing while the focus is in a text field (notes, the
   reviewer's name, a tag search, "Jump to"), and never with Ctrl, Alt or Cmd held. The call player's
   keys (Space, J, K) are left alone, and so are the call navigation's (← →, the Previous and Next
   buttons' own shortcuts) except where a control would keep them: a score or verdict option moves its
   focus along its group on ← →, and a checkbox is skipped by the shortcuts, so there this clicks
   Previous or Next itself. The player passes the scoring keys and the arrows on to this page when it
   has the focus.

   Every key acts once, on the form on screen. A key pressed while the app is running waits for the
   run to end: after S the form belongs to the call being left until the next call's run replaces it,
   and a click on that old form would be dropped by the app. Keys that wait act in the order pressed. */
const TEXT_INPUTS = "textarea, select, [contenteditable=''], [contenteditable='true'], " +
  "input:not([type=checkbox]):not([type=radio]):not([type=button]):not([type=submit]):not([type=range])";
const OURS = /^[1-5pfns]$/;
const NAVIGATION = { ArrowLeft: "rv_prev", ArrowRight: "rv_next" };
/* A segmented control's option (score, verdict) and a checkbox; not a plain radio button (a new failure
   mode's owner), on which ← → choose, as they should. */
const KEEPS_ARROWS = "button[role=radio], input[type=checkbox]";
/* After S, a run that ended this long ago with no other after it has finished the save: soon on the last
   call, which stays on screen; where a next call follows, only after a wait longer than the pause between
   the save's run and the next call's run on a busy machine (keys acting on the call being left are lost). */
const SETTLED_MS = 150;
const SETTLED_BEFORE_NEXT_MS = 1000;
const UNSEEN_MS = 2000;  /* a refused save can rerun the form too fast for its run to show */

const waiting = [];
let leaving = null;  /* after S, until the next call's form is on screen or the save is refused */

function typing(target) {
  return !!(target && target.closest && target.closest(TEXT_INPUTS));
}

function app() {
  return document.querySelector('[data-testid="stApp"]');
}

function running() {
  const root = app();
  return !!root && root.getAttribute("data-test-script-state") === "running";
}

function formOnScreen() {
  const score = document.querySelector('[class*="st-key-rv_score_"]');
  return score ? Array.from(score.classList).find((name) => name.startsWith("st-key-rv_score_")) : null;
}

function errorsShown() {
  return Array.from(document.querySelectorAll('[data-testid="stAlertContentError"]'), (el) => el.textContent);
}

function choose(widget, label) {
  const options = document.querySelectorAll(`[class*="st-key-${widget}_"] [role=radio]`);
  const option = Array.from(options).find((button) => button.textContent.trim() === label);
  if (option && option.getAttribute("aria-checked") !== "true") option.click();  /* a second press never clears it */
}

function act(key) {
  if (/^[1-5]$/.test(key)) choose("rv_score", key);
  else if (key === "p") choose("rv_verdict", "Pass");
  else if (key === "f") choose("rv_verdict", "Fail");
  else if (key === "n") {
    const notes = document.querySelector('[class*="st-key-rv_notes_"] textarea');
    if (notes) notes.focus();
  } else if (key === "s") {
    const save = document.querySelector(".st-key-rv_save_next button");
    if (save && !save.disabled) {
      const next = document.querySelector(".st-key-rv_next button");
      leaving = { form: formOnScreen(), errors: errorsShown().join("\n"), since: performance.now(), ran: null,
                  settled: next && !next.disabled ? SETTLED_BEFORE_NEXT_MS : SETTLED_MS };
      save.click();
    }
  }
}

function ready() {
  const now = performance.now();
  if (running()) {
    if (leaving !== null) leaving.ran = now;
    return false;
  }
  if (leaving === null) return true;
  /* After S, the keys wait for the next call's form, or for the save's run to end on the same call
     (refused: "Not saved: …" under the form), or, when no run was seen at all, a moment. */
  const form = formOnScreen();
  const done = (form && form !== leaving.form) || errorsShown().join("\n") !== leaving.errors ||
    (leaving.ran !== null && now - leaving.ran > leaving.settled) || (leaving.ran === null && now - leaving.since > UNSEEN_MS);
  if (done) leaving = null;
  return done;
}

function drain() {
  while (waiting.length && ready()) {
    const key = waiting.shift();
    act(key);
    if (key === "s") break;  /* the next key waits for the next call */
  }
  if (waiting.length || leaving !== null) requestAnimationFrame(drain);
}

function onKey(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  if (event.key === "Escape" && event.target && event.target.matches && event.target.matches("textarea")) {
    event.target.blur();  /* leaving the notes saves them, and the keys work again */
    return;
  }
  const key = String(event.key).toLowerCase();
  if (!OURS.test(key) || typing(event.target) || !document.querySelector(".st-key-scoring")) return;
  event.preventDefault();
  waiting.push(key);
  drain();
}

function onArrow(event) {
  const button = NAVIGATION[event.key];
  if (!button || event.ctrlKey || event.metaKey || event.altKey || event.shiftKey || event.repeat) return;
  const target = event.target;
  if (!target || !target.closest || !target.closest(KEEPS_ARROWS) || typing(target)) return;
  const navigation = document.querySelector(`.st-key-${button} button`);
  if (!navigation) return;  /* another page (the listener outlives the review): its radios keep their arrows */
  event.preventDefault();
  event.stopPropagation();  /* caught on the way down: the option never sees it, so its focus stays put */
  if (!navigation.disabled) navigation.click();
}

export default function () {
  if (window.callboardReviewKeys) return;  /* one listener per page, however often the form reruns */
  window.callboardReviewKeys = true;
  document.addEventListener("keydown", onKey);
  document.addEventListener("keydown", onArrow, true);
}
