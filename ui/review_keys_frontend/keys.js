/* Scoring keys for the weekly review: 1–5 score, P pass, F fail, N notes (Esc leaves them), S save and
   next. Each key clicks the form's own control (or focuses the notes), so a key does exactly what the
   mouse does and reruns only the form. Keys do nothing while the focus is in a text field (notes, the
   reviewer's name, a tag search, "Jump to"), and never with Ctrl, Alt or Cmd held. The call player's
   keys (Space, J, K) and the call navigation's (← →) are left alone. */
const TEXT_INPUTS = "textarea, select, [contenteditable=''], [contenteditable='true'], " +
  "input:not([type=checkbox]):not([type=radio]):not([type=button]):not([type=submit]):not([type=range])";

function typing(target) {
  return !!(target && target.closest && target.closest(TEXT_INPUTS));
}

function choose(widget, label) {
  const options = document.querySelectorAll(`[class*="st-key-${widget}_"] [role=radio]`);
  const option = Array.from(options).find((button) => button.textContent.trim() === label);
  if (option && option.getAttribute("aria-checked") !== "true") option.click();  /* a second press never clears it */
  return !!option;
}

function press(selector) {
  const control = document.querySelector(selector);
  if (control && !control.disabled) control.click();
  return !!control;
}

function focusNotes() {
  const notes = document.querySelector('[class*="st-key-rv_notes_"] textarea');
  if (notes) notes.focus();
  return !!notes;
}

function act(key) {
  if (/^[1-5]$/.test(key)) return choose("rv_score", key);
  if (key === "p") return choose("rv_verdict", "Pass");
  if (key === "f") return choose("rv_verdict", "Fail");
  if (key === "n") return focusNotes();
  if (key === "s") return press(".st-key-rv_save_next button");
  return false;
}

function onKey(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  if (event.key === "Escape" && event.target && event.target.matches && event.target.matches("textarea")) {
    event.target.blur();  /* leaving the notes saves them, and the keys work again */
    return;
  }
  if (typing(event.target) || !document.querySelector(".st-key-scoring")) return;
  if (act(String(event.key).toLowerCase())) event.preventDefault();
}

export default function () {
  if (window.callboardReviewKeys) return;  /* one listener per page, however often the form reruns */
  window.callboardReviewKeys = true;
  document.addEventListener("keydown", onKey);
}
