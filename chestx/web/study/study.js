// The reader's keyboard on the study page (js_on_load of the read's heading): Ctrl+Enter (or
// Cmd+Enter) submits the open read. Everything else is the browser's own: Tab moves between the
// answer, the step marks and the confidence, arrows and Space pick.
(() => {
  const keys = (e) => {
    if (!(e.ctrlKey || e.metaKey) || e.key !== "Enter") return;
    const button = document.querySelector("#cx-study-submit");
    if (!button || button.disabled || button.offsetParent === null) return;
    e.preventDefault();
    button.click();
  };
  if (window.__cxStudyKeys) document.removeEventListener("keydown", window.__cxStudyKeys);
  window.__cxStudyKeys = keys;
  document.addEventListener("keydown", keys);
})();
