// Which half of a page shows (js_on_load of the hidden "view" component): its value is a word
// such as "worklist" or "case:12", whose word is copied to <body data-cx-view>; app.css shows the
// matching part. Switching views is then a plain value, not a Gradio layout update. An open case
// is also in the address (?case=12), so a reload or a bookmark comes back to it; a newly opened
// case starts at the top of the page, where its messages are.
(() => {
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
    if (url.href !== window.location.href && !initial) window.history.replaceState(null, "", url.href);
    if (word === "case" && (before !== "case" || element.dataset.shown !== value)) window.scrollTo(0, 0);
    element.dataset.shown = value;
  };
  watch("value", apply);
  apply();
})();
