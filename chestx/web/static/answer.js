// The answer panel (js_on_load: `element`, `trigger`): Submit sends the choices as event data.
// Choosing an option means disagreeing, so the verdict follows the reviewer's hand.
(() => {
  const form = () => element.querySelector("form.cx-answer");
  let busy = false;

  element.addEventListener("change", (e) => {
    const f = form();
    if (!f || e.target.name !== "cx-option") return;
    const disagree = f.querySelector('input[name="cx-verdict"][value="disagree"]');
    if (disagree && e.target.checked) disagree.checked = true;
  });

  function submit() {
    const f = form();
    if (!f || busy || f.dataset.readonly === "1") return;
    const verdict = f.querySelector('input[name="cx-verdict"]:checked');
    const chosen = Array.from(f.querySelectorAll('input[name="cx-option"]:checked'), (x) => x.value);
    const comment = f.querySelector("#cx-comment");
    busy = true;
    const button = f.querySelector("#cx-submit");
    if (button) button.textContent = "Submitting…";
    trigger("submit", {
      case_id: Number(f.dataset.case),
      verdict: verdict ? verdict.value : null,
      chosen,
      comment: comment ? comment.value : "",
    });
  }

  element.addEventListener("click", (e) => {
    if (e.target.closest("#cx-submit")) {
      e.preventDefault();
      submit();
    }
  });
  element.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.ctrlKey && !e.metaKey && e.target.tagName === "TEXTAREA") return;
    if (e.key === "Enter" && e.target.tagName === "INPUT") e.preventDefault(); // no accidental submit
  });
  watch("value", () => {
    busy = false;
  });
})();
