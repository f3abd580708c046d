// js_on_load of the replay's steps and of the reveal: each new value is scrolled into view, so the
// step just shown, or the answer just revealed, is on screen (in presenter mode the text is large
// and the column long). The first render (empty) scrolls nothing.
(() => {
  const show = () => {
    const target =
      element.querySelector(".cx-reveal, .cx-notice") ||
      [...element.querySelectorAll(".cx-st-replay")].pop();
    if (target) requestAnimationFrame(() => target.scrollIntoView({ block: "nearest", behavior: "auto" }));
  };
  watch("value", show);
})();
