// Which half of a page shows (js_on_load of the hidden "view" component): its value is a word
// such as "worklist" or "case:12", whose word is copied to <body data-cx-view>; app.css shows the
// matching part. Switching views is then a plain value, not a Gradio layout update. An open case
// is also in the address (?case=12), so a reload or a bookmark comes back to it; a newly opened
// case starts at the top of the page, where its messages are.
// Opening a case from the worklist (a replay from the library) is a step the browser's Back undoes:
// it adds a history entry, and Back then presses the page's own "← Worklist" ("← Library"). Other
// changes (the next case after a submit, the way back) replace the current entry.
(() => {
  const OPENED = ["case", "replay"]; // views a Back leaves
  const HOME = ["worklist", "library"]; // the views they are opened from
  let first = true; // the page's own default: the address may name a case the server is opening
  const apply = () => {
    const value = (element.textContent || "").trim() || "worklist";
    const initial = first;
    first = false;
    const [word, id] = value.split(":");
    const before = document.body.dataset.cxView;
    document.body.dataset.cxView = word;
    const url = new URL(window.location.href);
    if (word === "case" && id) url.searchParams.set("case", id);
    else if (word === "worklist") url.searchParams.delete("case");
    const entry = (window.history.state && window.history.state.cxView) || null; // a reload keeps it
    const state = OPENED.includes(word) ? { cxView: word } : null; // what this entry now shows
    if (!initial && OPENED.includes(word) && HOME.includes(before) && !OPENED.includes(entry)) {
      window.history.pushState(state, "", url.href);
    } else if (!initial && (url.href !== window.location.href || entry !== (state && state.cxView))) {
      window.history.replaceState(state, "", url.href);
    }
    if (word === "case" && (before !== "case" || element.dataset.shown !== value)) window.scrollTo(0, 0);
    element.dataset.shown = value;
  };
  if (!window.__cxViewHistory) {
    // Back from an opened view: the page's own way back. Forward to a case: the address opens it.
    window.__cxViewHistory = (e) => {
      const shown = document.body.dataset.cxView;
      const wanted = (e.state && e.state.cxView) || null;
      if (OPENED.includes(shown) && !OPENED.includes(wanted)) {
        const back = document.querySelector("#cx-back, #cx-back-library");
        if (back) back.click();
      } else if (HOME.includes(shown) && wanted === "case" && new URL(window.location.href).searchParams.get("case")) {
        window.location.reload();
      }
    };
    window.addEventListener("popstate", window.__cxViewHistory);
  }
  watch("value", apply);
  apply();
})();
