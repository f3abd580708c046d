// Which half of a page shows (js_on_load of the hidden "view" component): its value is a word
// such as "worklist" or "case", copied to <body data-cx-view>; app.css shows the matching part.
// Switching views is then a plain value, not a Gradio layout update.
(() => {
  const apply = () => {
    document.body.dataset.cxView = (element.textContent || "").trim() || "worklist";
  };
  watch("value", apply);
  apply();
})();
