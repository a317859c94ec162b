// labelwise annotator front end (anywidget ESM). Python owns the state; this file renders
// it and sends decisions back. "Next iteration" swaps in the prefetched `upcoming` batch at
// once (no round trip), then tells the kernel which positions are on screen.

function h(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of [].concat(children)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// IOB2 tags -> [{type, start, end}] (end exclusive)
function spansOf(tags) {
  const spans = [];
  let current = null;
  (tags || []).concat(["O"]).forEach((tag, i) => {
    const [prefix, type] = tag.includes("-") ? [tag.slice(0, 1), tag.slice(2)] : [tag, null];
    if (current && !(prefix === "I" && type === current.type)) {
      current.end = i;
      spans.push(current);
      current = null;
    }
    if ((prefix === "B" || prefix === "I") && !current) current = { type, start: i };
  });
  return spans;
}

function render({ model, el }) {
  const root = h("div", { class: "lw-annotator", tabindex: "0", "data-lm-suppress-shortcuts": "true" });
  el.append(root);
  const state = { active: 0, entity: 0, drafts: {}, multi: {}, dragStart: null, optimistic: null, clock: performance.now() };
  // Each label or skip carries the time since the previous decision (or since the batch was
  // shown): the store records how long each item took.
  const send = (message) => {
    const now = performance.now();
    if (message.type === "label" || message.type === "skip") message.duration_ms = Math.max(0, Math.round(now - state.clock));
    if (message.type !== "undo") state.clock = now;
    model.send(message);
  };

  const header = h("div", { class: "lw-header" });
  const progress = h("span", { class: "lw-progress" });
  const status = h("div", { class: "lw-status", role: "status" });
  // The stopping criterion's verdict after each retraining: a visible "you may stop" signal.
  const stopSignal = h("div", { class: "lw-stop", role: "status", "aria-live": "polite" });
  const undoButton = h("button", { class: "lw-undo", title: "Undo (u)", onclick: () => send({ type: "undo" }) }, "Undo (u)");
  const nextButton = h("button", { class: "lw-next", title: "Next iteration (n)", onclick: () => next() }, "Next iteration (n)");
  header.append(progress, undoButton, nextButton);
  const toolbar = h("div", { class: "lw-toolbar" });
  const list = h("div", { class: "lw-items" });
  root.append(header, status, stopSignal, toolbar, list);

  function renderStop() {
    const signal = model.get("stop_signal") || {};
    stopSignal.hidden = !signal.reason;
    stopSignal.classList.toggle("lw-may-stop", Boolean(signal.stop));
    // Inline so the signal stands out without a stylesheet: green when labelling may stop.
    stopSignal.style.cssText = signal.stop
      ? "padding:4px 6px;margin:2px 0;color:#0b5d1e;background:#e6f4ea;border:1px solid #34a853;border-radius:3px;font-weight:600"
      : "padding:2px 4px;color:#666;font-size:11px";
    stopSignal.textContent = signal.stop ? `✓ You may stop labelling: ${signal.reason}` : `Keep labelling: ${signal.reason || ""}`;
  }

  function items() {
    return state.optimistic || model.get("items") || [];
  }

  function next() {
    const upcoming = model.get("upcoming") || [];
    window.__labelwise_next_clicked = performance.now();
    if (upcoming.length) {
      state.optimistic = upcoming;
      state.active = 0;
      state.drafts = {};
      state.multi = {};
      renderItems();
    }
    send({ type: "next", shown: upcoming.map((item) => item.position) });
  }

  function renderHeader() {
    const p = model.get("progress") || {};
    let text = `labeled ${p.labeled ?? 0} · queue ${p.queue ?? 0} · iteration ${p.iteration ?? 0}`;
    if (p.score !== null && p.score !== undefined) text += ` · held-out ${p.metric} ${p.score.toFixed(3)}`;
    if (p.training) text += " · training…";
    else if (p.train_seconds !== null && p.train_seconds !== undefined) text += ` · last fit ${p.train_seconds.toFixed(2)} s`;
    progress.textContent = text;
    const error = model.get("error");
    status.textContent = model.get("status") || "";
    status.classList.toggle("lw-error", Boolean(error));
  }

  function renderToolbar() {
    toolbar.replaceChildren();
    if (model.get("task") !== "tagging") return;
    const names = model.get("label_names");
    const keys = model.get("shortcuts");
    names.forEach((name, i) => {
      toolbar.append(h("button", {
        class: "lw-entity" + (i === state.entity ? " lw-selected" : ""), "data-entity": name,
        onclick: () => { state.entity = i; renderToolbar(); },
      }, [h("kbd", {}, keys[i]), " ", name]));
    });
  }

  function labelItem(item, value) {
    send({ type: "label", position: item.position, value });
  }

  function classificationBody(item, index) {
    const names = model.get("label_names");
    const keys = model.get("shortcuts");
    const multi = model.get("multi_label");
    const chosen = multi ? (state.multi[item.position] || item.label || item.suggestion || []) : null;
    const buttons = names.map((name, i) => {
      const selected = multi ? chosen.includes(name) : item.label === name;
      const suggested = !multi && !item.label && item.suggestion === name;
      return h("button", {
        class: "lw-label" + (selected ? " lw-selected" : "") + (suggested ? " lw-suggested" : ""),
        "data-label": name,
        onclick: (event) => {
          event.stopPropagation();
          state.active = index;
          if (multi) toggle(item, name); else labelItem(item, name);
        },
      }, [h("kbd", {}, keys[i]), " ", name]);
    });
    const row = h("div", { class: "lw-buttons" }, buttons);
    if (multi) row.append(h("button", { class: "lw-accept", onclick: () => labelItem(item, chosen) }, "Accept (a)"));
    return [h("div", { class: "lw-text", dir: "auto" }, item.text), row];  // dir=auto: Arabic, Hebrew run right to left
  }

  function toggle(item, name) {
    const current = (state.multi[item.position] || item.label || item.suggestion || []).slice();
    const at = current.indexOf(name);
    if (at >= 0) current.splice(at, 1); else current.push(name);
    state.multi[item.position] = current;
    renderItems();
  }

  function taggingBody(item, index) {
    const tags = state.drafts[item.position] || item.label || item.suggestion || item.tokens.map(() => "O");
    const fromSuggestion = !state.drafts[item.position] && !item.label && Boolean(item.suggestion);
    const entityAt = {};
    spansOf(tags).forEach((span) => { for (let i = span.start; i < span.end; i++) entityAt[i] = span; });
    const tokens = item.tokens.map((token, i) => {
      const span = entityAt[i];
      return h("span", {
        class: "lw-token" + (span ? " lw-entity-token lw-type-" + span.type : "") + (span && fromSuggestion ? " lw-suggested" : ""),
        "data-i": String(i), "data-tag": tags[i], title: span ? span.type : "",
        onmousedown: (event) => { event.preventDefault(); state.active = index; state.dragStart = { position: item.position, i }; },
        onmouseup: (event) => {
          event.preventDefault();
          const start = state.dragStart;
          state.dragStart = null;
          if (!start || start.position !== item.position) return;
          const a = Math.min(start.i, i), b = Math.max(start.i, i);
          const next = tags.slice();
          if (a === b && entityAt[a]) {
            for (let j = entityAt[a].start; j < entityAt[a].end; j++) next[j] = "O";  // click removes
          } else {
            const type = model.get("label_names")[state.entity];
            // A new span replaces whatever it overlaps, whole entities included.
            for (let j = a; j <= b; j++) if (entityAt[j]) for (let k = entityAt[j].start; k < entityAt[j].end; k++) next[k] = "O";
            for (let j = a; j <= b; j++) next[j] = (j === a ? "B-" : "I-") + type;
          }
          state.drafts[item.position] = next;
          renderItems();
        },
      }, [token, span && span.start === i ? h("sup", {}, span.type) : null]);
    });
    const accept = h("button", { class: "lw-accept", onclick: () => labelItem(item, tags) }, "Accept (a)");
    return [h("div", { class: "lw-tokens", dir: "auto" }, tokens), h("div", { class: "lw-buttons" }, [accept])];
  }

  function renderItems() {
    const current = items();
    list.replaceChildren();
    current.forEach((item, index) => {
      const body = model.get("task") === "tagging" ? taggingBody(item, index) : classificationBody(item, index);
      const done = item.label !== null && item.label !== undefined;
      const card = h("div", {
        class: "lw-item" + (index === state.active ? " lw-active" : "") + (done ? " lw-done" : "") + (item.skipped ? " lw-skipped" : ""),
        "data-position": String(item.position), "data-labeled": done ? "true" : "false",
        onclick: () => { if (state.active !== index) { state.active = index; renderItems(); } },
      }, [h("div", { class: "lw-meta" }, [`#${item.position}`, done ? " ✓" : "", item.skipped ? " skipped" : "",
        h("button", { class: "lw-skip", onclick: (event) => { event.stopPropagation(); send({ type: "skip", position: item.position }); } }, "Skip (s)")]),
      ...body]);
      list.append(card);
    });
    if (!current.length) list.append(h("div", { class: "lw-empty" }, "Nothing left to annotate."));
  }

  function advance() {
    const current = items();
    for (let step = 1; step <= current.length; step++) {
      const candidate = (state.active + step) % current.length;
      const item = current[candidate];
      if (item.label === null || item.label === undefined) { state.active = candidate; return; }
    }
  }

  root.addEventListener("keydown", (event) => {
    if (event.target.tagName === "INPUT" || event.target.tagName === "TEXTAREA") return;
    const current = items();
    const item = current[state.active];
    const key = event.key.toLowerCase();
    const keys = model.get("shortcuts");
    let handled = true;
    if (key === "n") next();
    else if (key === "u") send({ type: "undo" });
    else if (key === "s" && item) { send({ type: "skip", position: item.position }); advance(); }
    else if ((key === "a" || key === "enter") && item) {
      if (model.get("task") === "tagging") {
        labelItem(item, state.drafts[item.position] || item.label || item.suggestion || item.tokens.map(() => "O"));
      } else if (model.get("multi_label")) {
        labelItem(item, state.multi[item.position] || item.label || item.suggestion || []);
      } else handled = false;
      if (handled) advance();
    } else if (key === "arrowdown" || key === "j") { state.active = Math.min(state.active + 1, current.length - 1); renderItems(); }
    else if (key === "arrowup" || key === "k") { state.active = Math.max(state.active - 1, 0); renderItems(); }
    else if (keys.includes(key)) {
      const i = keys.indexOf(key);
      const name = model.get("label_names")[i];
      if (model.get("task") === "tagging") { state.entity = i; renderToolbar(); }
      else if (item && model.get("multi_label")) toggle(item, name);
      else if (item) { labelItem(item, name); advance(); }
    } else handled = false;
    if (handled) { event.preventDefault(); event.stopPropagation(); }
  });

  model.on("change:items", () => {
    state.optimistic = null;
    const positions = new Set((model.get("items") || []).map((item) => item.position));
    for (const key of Object.keys(state.drafts)) if (!positions.has(Number(key))) delete state.drafts[key];
    for (const key of Object.keys(state.multi)) if (!positions.has(Number(key))) delete state.multi[key];
    // A stored label replaces the draft it came from.
    for (const item of model.get("items") || []) if (item.label) { delete state.drafts[item.position]; delete state.multi[item.position]; }
    renderItems();
  });
  model.on("change:progress", renderHeader);
  model.on("change:status", renderHeader);
  model.on("change:error", renderHeader);
  model.on("change:stop_signal", renderStop);
  renderHeader();
  renderStop();
  renderToolbar();
  renderItems();
  root.focus({ preventScroll: true });
}

export default { render };
