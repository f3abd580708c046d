// The chain controller (run by Gradio as the chain component's js_on_load: `element`,
// `trigger`, `watch`). It turns clicks and keys into actions for the server, one at a time and
// in order, each with a request id made here, so that a retry of a lost answer is stored once.
// Editors are built with DOM calls; step text is only ever set as `.value` or `.textContent`.
// Unsaved editor text is kept as a draft in localStorage (per user and chain) and reopened after
// a reload; the length limit comes from the server (data-max-text) with a counter in each editor.
// The verdicts, step actions, their keys and editor labels are the server's too: the page's
// #cx-vocab (vocab.browser). A verdict whose effect is "replace" opens an editor for its text; one
// with a prompt is sent, then asks for an optional reason; any other is sent and moves on.
(() => {
  const root = element;
  const ui = { chainId: null, focus: null, drafts: new Map(), queue: [], inflight: null, timer: null, activeKey: null };
  const RETRY_MS = 10000;
  const REASON = "reason:"; // the draft type of a verdict's optional reason: "reason:<verdict>"
  let vocabulary = null;

  // Read when first needed, not at load: Gradio may fill the page head after this runs.
  function vocab() {
    if (vocabulary) return vocabulary;
    const island = document.getElementById("cx-vocab");
    if (!island) return { verdicts: [], actions: [], navigation: {} };
    vocabulary = JSON.parse(island.textContent);
    return vocabulary;
  }
  const verdictOf = (value) => vocab().verdicts.find((v) => v.value === value);
  const actionOf = (value) => vocab().actions.find((a) => a.value === value);
  function editorLabel(type) {
    const it = type.startsWith(REASON) ? verdictOf(type.slice(REASON.length)) : verdictOf(type) || actionOf(type);
    return it ? it.prompt : "";
  }

  const chain = () => root.querySelector(".cx-chain");
  const steps = () => Array.from(root.querySelectorAll(".cx-step[data-step-id]"));
  const stepById = (id) => root.querySelector(`.cx-step[data-step-id="${CSS.escape(String(id))}"]`);
  const readOnly = () => !chain() || chain().dataset.readonly === "1";
  const DRAFT = "cx-draft:chain:";
  const MAX_AGE_MS = 7 * 24 * 3600 * 1000;
  const storeKey = () => (chain() ? `${DRAFT}${chain().dataset.user}:${chain().dataset.chainId}` : null);

  function storeDrafts() {
    const k = storeKey();
    if (!k) return;
    const open = Array.from(ui.drafts.entries()).filter(([, d]) => !d.sent && (d.text || "").trim());
    try {
      if (open.length) localStorage.setItem(k, JSON.stringify({ at: Date.now(), drafts: open }));
      else localStorage.removeItem(k);
    } catch (e) {
      /* storage full or disabled: drafts live in the page only */
    }
  }

  function loadDrafts() {
    const k = storeKey();
    let saved = null;
    try {
      saved = k ? JSON.parse(localStorage.getItem(k) || "null") : null;
    } catch (e) {
      saved = null;
    }
    if (!saved || Date.now() - saved.at > MAX_AGE_MS || readOnly()) return;
    for (const [key, d] of saved.drafts) ui.drafts.set(key, { ...d, sent: false });
  }
  const visible = () => root.offsetParent !== null;

  function requestId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16)); // works outside secure contexts too
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  // ---- sending actions: a queue, one in flight, retried with the same id until answered ----
  function send(action, draftKey) {
    action.request_id = requestId();
    ui.queue.push({ action, draftKey });
    pump();
  }

  function pump() {
    if (ui.inflight || ui.queue.length === 0) return;
    ui.inflight = ui.queue.shift();
    markSaving(ui.inflight.action);
    trigger("submit", ui.inflight.action);
    clearTimeout(ui.timer);
    ui.timer = setTimeout(retry, RETRY_MS);
  }

  function retry() {
    if (!ui.inflight) return;
    trigger("submit", ui.inflight.action);
    ui.timer = setTimeout(retry, RETRY_MS);
  }

  function markSaving(action) {
    const el = action.step_id ? stepById(action.step_id) : null;
    const chip = el && el.querySelector(".cx-chip");
    if (chip) {
      chip.textContent = "Saving…";
      chip.className = "cx-chip cx-saving";
    }
  }

  // ---- editors ----
  function closeEditors(except) {
    root.querySelectorAll(".cx-editor").forEach((box) => {
      if (box !== except) box.remove();
    });
  }

  function openEditor(stepEl, type, initial, draftKey, focus = true) {
    const key = draftKey || `${type}:${stepEl ? stepEl.dataset.stepId : "first"}`;
    const draft = ui.drafts.get(key) || { type, stepId: stepEl ? stepEl.dataset.stepId : null, text: initial };
    draft.sent = false;
    draft.pos = stepEl ? stepEl.dataset.pos : "-1";
    ui.drafts.set(key, draft);
    const box = document.createElement("div");
    box.className = "cx-editor";
    box.dataset.key = key;
    const label = document.createElement("label");
    label.textContent = editorLabel(type);
    const multi = type === "insert" || (verdictOf(type) || {}).effect === "replace";
    const field = document.createElement(multi ? "textarea" : "input");
    field.className = "cx-field";
    if (multi) field.rows = 3;
    field.value = draft.text || "";
    const max = Number(chain().dataset.maxText || 0);
    if (max) field.maxLength = max;
    const count = document.createElement("span");
    count.className = "cx-counter";
    count.setAttribute("aria-live", "polite");
    const recount = () => (count.textContent = max ? `${field.value.length} / ${max}` : "");
    recount();
    field.addEventListener("input", () => {
      draft.text = field.value;
      recount();
      storeDrafts();
    });
    const save = document.createElement("button");
    save.type = "button";
    save.className = "cx-save";
    save.textContent = "Save";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "cx-btn-quiet";
    cancel.textContent = type.startsWith(REASON) ? "Skip" : "Cancel";
    const bar = document.createElement("div");
    bar.className = "cx-editor-bar";
    bar.append(save, cancel, count);
    box.append(label, field, bar);
    const doSave = () => saveDraft(key);
    const doCancel = () => {
      ui.drafts.delete(key);
      storeDrafts();
      box.remove();
      focusStep(ui.focus);
    };
    save.addEventListener("click", doSave);
    cancel.addEventListener("click", doCancel);
    field.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        e.stopPropagation();
        doSave();
      } else if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        doCancel();
      }
    });
    if (stepEl) stepEl.appendChild(box);
    else chain().querySelector(".cx-steps").before(box);
    if (focus) {
      field.focus();
      field.setSelectionRange(field.value.length, field.value.length);
    }
    return box;
  }

  function saveDraft(key) {
    const d = ui.drafts.get(key);
    if (!d) return;
    const text = (d.text || "").trim();
    const replacing = verdictOf(d.type); // only a verdict that carries its text has an editor of its own
    if (replacing) {
      if (!text) return;
      send({ kind: "verdict", step_id: Number(d.stepId), verdict: replacing.value, text }, key);
    } else if (d.type.startsWith(REASON)) {
      if (!text) return void ui.drafts.delete(key);
      const verdict = d.type.slice(REASON.length);
      send({ kind: "verdict", step_id: Number(d.stepId), verdict, comment: text }, key);
    } else if (d.type === "comment") {
      send({ kind: "comment", step_id: Number(d.stepId), comment: text }, key);
    } else if (d.type === "insert") {
      if (!text) return;
      send({ kind: "add_step", after: Number(d.pos), text }, key);
    }
    d.sent = true; // reopened only if the server refuses it
    const box = root.querySelector(`.cx-editor[data-key="${CSS.escape(key)}"]`);
    if (box) box.remove();
    focusStep(ui.focus);
  }

  // ---- step actions ----
  function currentText(stepEl) {
    const t = stepEl.querySelector(".cx-text");
    return t ? t.textContent : "";
  }

  function act(kind, stepEl) {
    if (readOnly()) return;
    stepEl = stepEl || stepById(ui.focus);
    if (kind === "insert-first") return void openEditor(null, "insert", "", "insert:first");
    if (!stepEl) return;
    ui.focus = stepEl.dataset.stepId;
    const id = Number(stepEl.dataset.stepId);
    if (kind === "remove") return void send({ kind: "remove_step", step_id: id });
    if (stepEl.dataset.kind === "added") return;
    const verdict = verdictOf(kind);
    if (verdict && verdict.effect === "replace") {
      openEditor(stepEl, verdict.value, currentText(stepEl));
    } else if (verdict) {
      send({ kind: "verdict", step_id: id, verdict: verdict.value });
      if (verdict.prompt) openEditor(stepEl, REASON + verdict.value, "");
      else move(1);
    } else if (kind === "comment") {
      const c = stepEl.querySelector(".cx-comment");
      openEditor(stepEl, "comment", c ? c.textContent.replace(/^(Comment|Reason):\s*/, "") : "");
    } else if (kind === "insert") {
      openEditor(stepEl, "insert", "");
    }
  }

  // ---- focus ----
  function focusStep(id, scroll = true) {
    root.querySelectorAll(".cx-step.cx-focus").forEach((s) => s.classList.remove("cx-focus"));
    const el = id != null ? stepById(id) : null;
    if (!el) return;
    ui.focus = el.dataset.stepId;
    el.classList.add("cx-focus");
    if (scroll) el.scrollIntoView({ block: "nearest", behavior: "smooth" });
    const active = document.activeElement;
    if (!active || !active.closest || !active.closest(".cx-editor")) el.focus({ preventScroll: true });
  }

  function move(delta) {
    const all = steps();
    if (all.length === 0) return;
    let i = all.findIndex((s) => s.dataset.stepId === String(ui.focus));
    i = i < 0 ? 0 : Math.min(all.length - 1, Math.max(0, i + delta));
    focusStep(all[i].dataset.stepId);
  }

  root.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-act]");
    if (b && root.contains(b)) {
      e.preventDefault();
      act(b.dataset.act, b.closest(".cx-step"));
      return;
    }
    const s = e.target.closest(".cx-step[data-step-id]");
    if (s && !e.target.closest(".cx-editor")) focusStep(s.dataset.stepId, false);
  });

  // Which editor the reviewer is typing in, so a re-render gives it its focus back.
  root.addEventListener("focusin", (e) => {
    const box = e.target.closest(".cx-editor");
    ui.activeKey = box ? box.dataset.key : null;
  });

  // ---- keyboard (one listener for the page, pointing at the newest controller) ----
  function keyAction(key) {
    const v = vocab();
    if (key === v.navigation.next) return () => move(1);
    if (key === v.navigation.previous) return () => move(-1);
    const it = v.verdicts.find((x) => x.key === key) || v.actions.find((x) => x.key === key);
    return it ? () => act(it.value) : null;
  }

  window.__cxChain = { act, move, visible, readOnly, keyAction };
  if (!window.__cxChainKeys) {
    window.__cxChainKeys = (e) => {
      const c = window.__cxChain;
      if (!c || !c.visible()) return;
      const t = e.target;
      const typing = window.cxTyping(t); // an answer option is not typing: the keys work there
      if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
        if (t && t.closest && t.closest(".cx-editor")) return;
        const submit = document.querySelector("#cx-submit");
        if (submit) {
          e.preventDefault();
          submit.click();
        }
        return;
      }
      if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
      const fn = c.keyAction(e.key);
      if (fn) {
        e.preventDefault();
        fn();
      }
    };
    document.addEventListener("keydown", window.__cxChainKeys);
  }

  // ---- after each render: settle the answered action, restore focus and open editors ----
  function settle() {
    const c = chain();
    if (!c) return;
    if (c.dataset.chainId !== ui.chainId) {
      ui.chainId = c.dataset.chainId;
      ui.drafts.clear();
      ui.queue = [];
      ui.inflight = null;
      clearTimeout(ui.timer);
      ui.focus = null;
      loadDrafts(); // text typed before a reload or a trip to the worklist
    }
    if (ui.inflight && c.dataset.ack === ui.inflight.action.request_id) {
      const key = ui.inflight.draftKey;
      if (key && c.dataset.ackOk === "1") ui.drafts.delete(key);
      else if (key && ui.drafts.has(key)) ui.drafts.get(key).sent = false;
      ui.inflight = null;
      clearTimeout(ui.timer);
      storeDrafts();
    }
    for (const [key, d] of ui.drafts) {
      const el = d.stepId ? stepById(d.stepId) : null;
      if (d.sent || (d.stepId && !el) || !editorLabel(d.type)) continue; // unknown: a draft of another version
      openEditor(el, d.type, d.text, key, key === ui.activeKey);
    }
    if (ui.focus == null && steps().length) {
      const first = steps().find((s) => !s.dataset.verdict && s.dataset.kind === "model") || steps()[0];
      ui.focus = first.dataset.stepId;
    }
    focusStep(ui.focus, false);
    pump();
  }
  watch("value", settle);
  settle();
})();
