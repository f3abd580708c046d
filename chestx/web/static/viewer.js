// The image viewer (run by Gradio as the viewer component's js_on_load: `element`, `watch`).
// Zoom and pan are CSS transforms; window/level dragging previews with a CSS filter and then
// asks the server for the exact window. Pixels only ever come from the authorised /img route.
(() => {
  const root = element;
  const view = { scale: 1, x: 0, y: 0, which: "current", preset: "default", center: null, width: null };
  let drag = null;

  const q = (sel) => root.querySelector(sel);
  const viewer = () => q(".cx-viewer");
  const img = () => q(".cx-img");

  function presets() {
    const v = viewer();
    if (!v) return {};
    try {
      return JSON.parse(view.which === "prior" ? v.dataset.priorPresets : v.dataset.presets) || {};
    } catch (e) {
      return {};
    }
  }

  function windowOf(preset) {
    const p = presets();
    if (preset === "default") return p.file || p.full || null;
    return p[preset] || null;
  }

  function url(max, fmt) {
    const v = viewer();
    const params = new URLSearchParams({ which: view.which, max: String(max), fmt });
    if (view.center !== null && view.width !== null) {
      params.set("c", view.center.toFixed(1));
      params.set("w", Math.max(1, view.width).toFixed(1));
    } else {
      params.set("preset", view.preset);
    }
    return `/img/${v.dataset.case}?${params.toString()}`;
  }

  // A quick preview first, then the full-quality PNG swapped in when it has arrived.
  function load() {
    const el = img();
    if (!el || !viewer()) return;
    const full = url(2048, "png");
    el.src = url(1024, "jpeg");
    const hi = new Image();
    hi.onload = () => {
      if (img() === el) {
        el.src = full;
        el.style.filter = "";
      }
    };
    hi.src = full;
    label();
  }

  function label() {
    const out = q(".cx-wl");
    if (!out) return;
    const w = view.center !== null ? [view.center, view.width] : windowOf(view.preset);
    out.textContent = w ? `W ${Math.round(w[1])} · L ${Math.round(w[0])}` : "";
  }

  function apply() {
    const el = img();
    if (el) el.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.scale})`;
  }

  function zoom(factor, cx, cy) {
    const stage = q(".cx-stage");
    if (!stage) return;
    const r = stage.getBoundingClientRect();
    const px = (cx ?? r.width / 2) - r.width / 2;
    const py = (cy ?? r.height / 2) - r.height / 2;
    const next = Math.min(12, Math.max(0.5, view.scale * factor));
    const k = next / view.scale;
    view.x = px - (px - view.x) * k;
    view.y = py - (py - view.y) * k;
    view.scale = next;
    apply();
  }

  function fit() {
    view.scale = 1;
    view.x = 0;
    view.y = 0;
    apply();
  }

  function choosePreset(name) {
    view.preset = name;
    view.center = null;
    view.width = null;
    root.querySelectorAll("[data-preset]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.preset === name)));
    load();
  }

  function chooseStudy(which) {
    view.which = which;
    root.querySelectorAll("[data-which]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.which === which)));
    choosePreset("default");
  }

  root.addEventListener("click", (e) => {
    const b = e.target.closest("button");
    if (!b || !root.contains(b)) return;
    if (b.dataset.preset) choosePreset(b.dataset.preset);
    else if (b.dataset.which) chooseStudy(b.dataset.which);
    else if (b.dataset.zoom === "in") zoom(1.25);
    else if (b.dataset.zoom === "out") zoom(0.8);
    else if (b.dataset.zoom === "fit") fit();
  });

  root.addEventListener(
    "wheel",
    (e) => {
      const stage = e.target.closest(".cx-stage");
      if (!stage) return;
      e.preventDefault();
      const r = stage.getBoundingClientRect();
      zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
    },
    { passive: false },
  );

  root.addEventListener("contextmenu", (e) => {
    if (e.target.closest(".cx-stage")) e.preventDefault();
  });

  root.addEventListener("pointerdown", (e) => {
    const stage = e.target.closest(".cx-stage");
    if (!stage) return;
    const level = e.shiftKey || e.button === 2;
    const w = view.center !== null ? [view.center, view.width] : windowOf(view.preset);
    if (level && !w) return;
    drag = { level, x0: e.clientX, y0: e.clientY, vx: view.x, vy: view.y, w0: w, moved: false };
    stage.setPointerCapture(e.pointerId);
  });

  root.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x0;
    const dy = e.clientY - drag.y0;
    drag.moved = drag.moved || Math.abs(dx) + Math.abs(dy) > 3;
    if (!drag.level) {
      view.x = drag.vx + dx;
      view.y = drag.vy + dy;
      apply();
      return;
    }
    // Right/left widens/narrows the window; up/down moves the level. Preview with a CSS filter.
    const [c0, w0] = drag.w0;
    const width = Math.max(1, w0 * Math.exp(dx / 250));
    const center = c0 + (dy * w0) / 500;
    view.center = center;
    view.width = width;
    const el = img();
    if (el) el.style.filter = `contrast(${(w0 / width).toFixed(3)}) brightness(${(1 - (center - c0) / w0).toFixed(3)})`;
    label();
  });

  function endDrag() {
    if (!drag) return;
    const wasLevel = drag.level && drag.moved;
    drag = null;
    if (wasLevel) {
      root.querySelectorAll("[data-preset]").forEach((b) => b.setAttribute("aria-pressed", "false"));
      load();
    }
  }
  root.addEventListener("pointerup", endDrag);
  root.addEventListener("pointercancel", endDrag);
  root.addEventListener("dblclick", (e) => {
    if (e.target.closest(".cx-stage")) fit();
  });

  const keys = (e) => {
    if (!viewer() || root.offsetParent === null) return;
    const t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const names = ["default", "lung", "mediastinum", "bone", "full"];
    if (e.key >= "1" && e.key <= "5") {
      const name = names[Number(e.key) - 1];
      if (name === "default" || presets()[name]) choosePreset(name);
    } else if (e.key === "0") fit();
    else if (e.key === "+" || e.key === "=") zoom(1.25);
    else if (e.key === "-") zoom(0.8);
    else return;
    e.preventDefault();
  };
  if (window.__cxViewerKeys) document.removeEventListener("keydown", window.__cxViewerKeys);
  window.__cxViewerKeys = keys;
  document.addEventListener("keydown", keys);

  function reset() {
    view.which = "current";
    view.preset = "default";
    view.center = null;
    view.width = null;
    fit();
    if (viewer()) load();
  }
  watch("value", reset);
  reset();
})();
