// The keyboard help overlay: "?" shows it, Esc or "?" hides it. Built with DOM calls only.
// The key list is the server's (the page's #cx-vocab, from vocab.keys): this script keeps no copy.
// Also, for the pages' shortcut keys: window.cxTyping(target), whether a key pressed there is text.
(() => {
  if (window.cxHelp) return;
  // Text entry takes letters; a radio or a checkbox (an answer option, a quiz choice) does not, so
  // the shortcut keys still work there.
  window.cxTyping = (t) => {
    if (!t) return false;
    const choice = t.tagName === "INPUT" && (t.type === "radio" || t.type === "checkbox");
    return (t.tagName === "INPUT" && !choice) || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable;
  };
  function keys() {
    const island = document.getElementById("cx-vocab");
    try {
      return island ? JSON.parse(island.textContent).help || [] : [];
    } catch (e) {
      return [];
    }
  }
  let box = null;

  function build() {
    box = document.createElement("div");
    box.id = "cx-help";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-label", "Keyboard shortcuts");
    const panel = document.createElement("div");
    panel.className = "cx-help-panel";
    const h = document.createElement("h2");
    h.textContent = "Keyboard shortcuts";
    const table = document.createElement("table");
    for (const [k, v] of keys()) {
      const tr = table.insertRow();
      const kc = tr.insertCell();
      const kb = document.createElement("kbd");
      kb.textContent = k;
      kc.appendChild(kb);
      tr.insertCell().textContent = v;
    }
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close (Esc)";
    close.addEventListener("click", hide);
    panel.append(h, table, close);
    box.appendChild(panel);
    box.addEventListener("click", (e) => {
      if (e.target === box) hide();
    });
    document.body.appendChild(box);
  }

  function show() {
    if (!box) build();
    box.hidden = false;
    box.querySelector("button").focus();
  }

  function hide() {
    if (box) box.hidden = true;
  }

  window.cxHelp = () => (box && !box.hidden ? hide() : show());
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    const typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable);
    if (e.key === "Escape" && box && !box.hidden) {
      hide();
      e.preventDefault();
    } else if (e.key === "?" && !typing) {
      window.cxHelp();
      e.preventDefault();
    }
  });
  document.addEventListener("click", (e) => {
    const b = e.target.closest && e.target.closest("[data-help]");
    if (b) window.cxHelp();
  });
})();
