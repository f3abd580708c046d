// The teach page's keys and presenter mode (js_on_load of the key hint, #cx-teach-keys).
// Presenter clickers send PageDown / PageUp (some send → / ←): PageDown, → and Space show the next
// step, and after the last one reveal the answer; PageUp and ← show one step fewer. P (or the
// button) switches presenter mode, a body class that teach.css turns into large text; Esc leaves it.
// Keys go through the page's own buttons, so a key does exactly what the click does.
(() => {
  const body = document.body;
  const click = (id) => {
    const button = document.getElementById(id);
    if (button && !button.disabled) button.click();
  };
  const presenter = (on) => {
    const want = on === undefined ? !body.classList.contains("cx-presenter") : on;
    body.classList.toggle("cx-presenter", want);
    for (const b of document.querySelectorAll("[data-cx-presenter]")) b.setAttribute("aria-pressed", String(want));
  };
  const next = () => {
    const steps = document.getElementById("cx-replay");
    if (steps && steps.querySelector(".cx-st-hidden")) click("cx-next-step");
    else if (!document.querySelector("#cx-answer-reveal .cx-reveal")) click("cx-reveal");
  };
  const keys = (e) => {
    if (body.dataset.cxView !== "replay" || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target || {};
    const tag = t.tagName;
    if (window.cxTyping(t)) return;
    const choice = tag === "INPUT" && (t.type === "radio" || t.type === "checkbox");
    if (document.getElementById("cx-help") && !document.getElementById("cx-help").hidden) return;
    // On a quiz option, arrows and Space choose (the browser's own keys), except in presenter mode,
    // where a clicker's arrows must always move the replay.
    const arrowsFree = !choice || body.classList.contains("cx-presenter");
    const spaceFree = !choice && tag !== "BUTTON" && tag !== "A"; // Space on a button clicks it
    const k = e.key;
    if (k === "PageDown" || (k === "ArrowRight" && arrowsFree) || (k === " " && spaceFree)) next();
    else if (k === "PageUp" || (k === "ArrowLeft" && arrowsFree)) click("cx-prev-step");
    else if ((k === "p" || k === "P") && !choice) presenter();
    else if (k === "Escape" && body.classList.contains("cx-presenter")) presenter(false);
    else return;
    e.preventDefault();
  };
  if (window.__cxTeachKeys) document.removeEventListener("keydown", window.__cxTeachKeys);
  window.__cxTeachKeys = keys;
  document.addEventListener("keydown", keys);
  element.addEventListener("click", (e) => {
    if (e.target.closest("[data-cx-presenter]")) presenter();
  });
})();
