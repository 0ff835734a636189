/* The call player: one Streamlit component (v1 protocol, spoken by hand: no build step) that shows
   the recording's waveform (agent on top, caller below) with every turn and the call's waits, dead
   air and talking-over as regions, and the transcript beneath it, which follows the audio.

   Every piece of call text is customer text: it is only ever set with textContent.
   Keys (on the whole page, not only inside this frame): Space plays or pauses, J jumps to the next
   turn, K to the previous one. ← and → stay with the review's call navigation. */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let audio = $("audio");  // replaced by a fresh element for every recording
  const MARK_COLORS = { wait: "rgba(140, 150, 165, 0.32)", dead_air: "rgba(214, 39, 40, 0.30)",
                        interruption: "rgba(128, 60, 200, 0.40)" };
  const TURN_COLORS = { agent: "rgba(31, 95, 191, 0.08)", customer: "rgba(194, 90, 0, 0.08)" };
  const state = { audioId: null, turns: [], lines: [], marks: [], ws: null, regions: null, now: -1, large: false };

  function send(type, data) {
    window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, data || {}), "*");
  }

  function fitFrame() {
    send("streamlit:setFrameHeight", { height: Math.ceil(document.documentElement.getBoundingClientRect().height) + 4 });
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds || 0));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function span(className, text) {
    const element = document.createElement("span");
    element.className = className;
    element.textContent = text;
    return element;
  }

  function renderTranscript(turns) {
    const list = $("transcript");
    list.textContent = "";
    state.lines = turns.map(function (turn, index) {
      const line = document.createElement("li");
      line.className = "line " + (turn.side === "agent" ? "agent" : "customer");
      line.dataset.index = String(index);
      line.append(span("clock", turn.clock), span("who", turn.who));
      if (turn.note) line.append(span("note", turn.note));
      line.append(span("text", turn.text));
      (turn.evidence || []).forEach(function (quote) {
        const box = span("evidence", "");
        const label = document.createElement("b");
        label.textContent = "► Judge's evidence:";
        box.append(label, document.createTextNode("“" + quote + "”"));
        line.append(box);
      });
      line.addEventListener("click", function () { seekToTurn(index, true); });
      list.append(line);
      return line;
    });
  }

  function sizeTranscript() {
    let viewport = 800;
    try { viewport = window.parent.innerHeight || viewport; } catch (e) { /* another origin: keep the default */ }
    const player = $("player").hidden ? 0 : $("player").getBoundingClientRect().height;
    $("transcript").style.maxHeight = Math.max(260, viewport - player - 170) + "px";
  }

  function turnAt(time) {
    let found = -1;
    state.turns.forEach(function (turn, index) { if (turn.start <= time + 0.05) found = index; });
    return found;
  }

  function highlight(index) {
    if (index === state.now) return;
    if (state.now >= 0 && state.lines[state.now]) state.lines[state.now].classList.remove("now");
    state.now = index;
    const line = state.lines[index];
    if (!line) return;
    line.classList.add("now");
    const list = $("transcript");
    const top = line.offsetTop - list.offsetTop;
    if (top < list.scrollTop || top + line.offsetHeight > list.scrollTop + list.clientHeight) {
      list.scrollTop = Math.max(0, top - list.clientHeight / 3);
    }
  }

  function follow() {
    const time = audio.currentTime;
    $("time").textContent = clock(time) + " / " + clock(audio.duration || state.duration);
    highlight(turnAt(time));
  }

  function showPlaying() {
    const playing = !audio.paused;
    $("play").textContent = playing ? "❚❚ Pause" : "▶ Play";
    $("play").setAttribute("aria-label", playing ? "Pause" : "Play");
  }

  function togglePlay() {
    if (audio.paused) audio.play().catch(function () { /* the browser wants a click first */ });
    else audio.pause();
  }

  function seekToTurn(index, play) {
    const turn = state.turns[index];
    if (!turn) return;
    audio.currentTime = turn.start;
    highlight(index);
    follow();
    if (play && audio.paused) togglePlay();
  }

  function step(direction) {
    const here = turnAt(audio.currentTime);
    seekToTurn(Math.min(Math.max(here + direction, 0), state.turns.length - 1), false);
  }

  function addRegions() {
    if (!state.regions) return;
    state.regions.clearRegions();
    state.turns.forEach(function (turn) {
      state.regions.addRegion({ start: turn.start, end: turn.end, color: TURN_COLORS[turn.side] || TURN_COLORS.customer,
                                channelIdx: turn.side === "agent" ? 0 : 1, drag: false, resize: false });
    });
    state.marks.forEach(function (mark) {
      /* Waits are many and short: their length shows on hover; dead air and talking-over are labelled. */
      const region = state.regions.addRegion({ start: mark.start, end: mark.end, color: MARK_COLORS[mark.kind],
                                               content: mark.kind === "wait" ? undefined : mark.label,
                                               drag: false, resize: false });
      if (region.element) region.element.title = mark.label;
    });
  }

  function showProblem(message) {
    const problem = $("problem");
    problem.hidden = false;
    problem.textContent = message;
    audio.controls = true;  // the plain player still plays, and the transcript still follows it
    fitFrame();
  }

  function freshAudio() {
    /* A new media element per recording: the old one stops with its player, and late events from
       it cannot reach the new call. */
    const fresh = document.createElement("audio");
    fresh.id = "audio";
    fresh.preload = "auto";
    ["timeupdate", "seeked", "loadedmetadata"].forEach(function (name) { fresh.addEventListener(name, follow); });
    ["play", "pause"].forEach(function (name) { fresh.addEventListener(name, showPlaying); });
    audio.pause();
    audio.replaceWith(fresh);
    audio = fresh;
  }

  function load(args) {
    freshAudio();
    if (state.ws) state.ws.destroy();
    $("problem").hidden = true;
    const regions = WaveSurfer.Regions.create();
    const ws = WaveSurfer.create({
      container: "#waveform", media: audio, height: args.large ? 64 : 52, normalize: true,
      splitChannels: [{ waveColor: "#7ea3dd", progressColor: "#1f5fbf" }, { waveColor: "#e5a874", progressColor: "#c25a00" }],
      cursorColor: "#111", cursorWidth: 2, dragToSeek: true, plugins: [regions],
    });
    state.ws = ws;
    state.regions = regions;
    ws.on("decode", addRegions);
    ws.on("error", function () {
      if (ws !== state.ws) return;  // a player already replaced by the next call's
      showProblem("The waveform could not be drawn (the recording's server may not allow it); the audio still plays.");
    });
    showPlaying();
    /* The audio can play at once; the waveform (decoding and drawing) waits until the page is idle,
       so opening a call is no slower for it. */
    const source = args.audio ? URL.createObjectURL(new Blob([args.audio], { type: args.mime })) : args.url;
    if (state.objectUrl) URL.revokeObjectURL(state.objectUrl);
    state.objectUrl = args.audio ? source : null;
    audio.src = source;
    const draw = function () {
      if (ws === state.ws) ws.load(source).catch(function () { /* reported by the error event */ });
    };
    if (window.requestIdleCallback) window.requestIdleCallback(draw, { timeout: 1000 });
    else window.setTimeout(draw, 200);
  }

  function onRender(args) {
    state.large = !!args.large;
    document.body.classList.toggle("large", state.large);
    state.duration = args.duration_s;
    if (args.audio_id !== state.audioId) {
      state.audioId = args.audio_id;
      state.turns = args.turns;
      state.marks = args.marks;
      state.now = -1;
      renderTranscript(args.turns);
      $("player").hidden = false;
      const keys = $("keys");
      keys.textContent = "";
      args.keys.forEach(function (pair, index) {
        const key = document.createElement("kbd");
        key.textContent = pair[0];
        keys.append(index ? " · " : "Keys: ", key, " " + pair[1]);
      });
      load(args);
      follow();
    }
    sizeTranscript();
    fitFrame();
  }

  const PAGE_KEYS = /^(ArrowLeft|ArrowRight|[1-5pfnsPFNS])$/;

  function typingIn(target) {
    if (!target || !target.closest) return false;
    return !!target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true'], " +
                            "[role='radio'], [role='slider'], [role='combobox'], [role='listbox'], [role='spinbutton']");
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typingIn(event.target)) return;
    if (!state.audioId || !document.body.isConnected) return;
    if (event.code === "Space" || event.key === " ") togglePlay();
    else if (event.key === "j" || event.key === "J") step(1);
    else if (event.key === "k" || event.key === "K") step(-1);
    else return;
    event.preventDefault();
    event.stopPropagation();
  }

  function passOnNavigation(event) {
    /* ← and → belong to the review's call navigation, and 1–5, P, F, N, S to its scoring keys
       (ui/review_keys.py), which listen on the page around this frame: while this frame has the focus
       (after a click on the waveform or a line) they would otherwise never reach them. */
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (!PAGE_KEYS.test(event.key) || typingIn(event.target)) return;
    if (passOn(event)) event.preventDefault();
  }

  function passOnRelease(event) {
    /* The page's shortcuts (← →) keep a list of the keys held down and act only when the keys held
       are exactly theirs: a key passed on going down must be passed on coming up, or after a "3" the
       page would take → for "3 + →" and do nothing. A release the page never saw go down changes nothing. */
    if (PAGE_KEYS.test(event.key)) passOn(event);
  }

  function passOn(event) {
    try {
      window.parent.document.dispatchEvent(new KeyboardEvent(event.type, { key: event.key, code: event.code, bubbles: true }));
      return true;
    } catch (e) {
      return false;  /* another origin: nothing to pass on to */
    }
  }

  $("play").addEventListener("click", togglePlay);
  document.addEventListener("keydown", onKey);
  document.addEventListener("keydown", passOnNavigation);
  document.addEventListener("keyup", passOnRelease);
  try {
    const page = window.parent.document;
    page.addEventListener("keydown", onKey, true);
    window.addEventListener("pagehide", function () { page.removeEventListener("keydown", onKey, true); });
  } catch (e) { /* another origin: the keys work while this frame has the focus */ }
  new ResizeObserver(fitFrame).observe(document.body);
  window.addEventListener("message", function (event) {
    if (event.data && event.data.type === "streamlit:render") onRender(event.data.args);
  });
  send("streamlit:componentReady", { apiVersion: 1 });
})();
