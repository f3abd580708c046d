// The answer panel (js_on_load: `element`, `trigger`, `watch`): Submit sends the choices as event
// data. Gradio updates this HTML in place and keeps what the browser had ticked, so whenever the
// form is drawn for another case or chain (data-key) it is reset to what the server rendered;
// every choice remembers the key it was made for, and the server refuses one made for another
// case. Unsent choices are kept as a draft in localStorage (per user, case and chain) and come
// back after a reload. Keys: those of the answer verdicts in the page's vocabulary (#cx-vocab: y
// agree, n disagree then the options, u unusable), Ctrl+Enter submit.
(() => {
  const form = () => element.querySelector("form.cx-answer");
  const DRAFT = "cx-draft:answer:";
  const MAX_AGE_MS = 7 * 24 * 3600 * 1000;
  let key = null;
  let sentFor = null; // the key of the form last submitted (its draft goes once the case moves on)
  let busy = false;
  // Which form key each choice was made for, by "name=value" (kept here, not in the DOM: Gradio's
  // in-place update removes attributes the server did not render).
  const setFor = new Map();
  const id = (input) => `${input.name || input.id}=${input.value}`;

  const draftKey = (f) => `${DRAFT}${f.dataset.user}:${f.dataset.key}`;
  const inputs = (f) => Array.from(f.querySelectorAll("input, textarea"));

  function mark(input) {
    const f = form();
    if (f && input.name) setFor.set(id(input), f.dataset.key);
  }

  function counter(f) {
    const note = f.querySelector("#cx-comment");
    const out = f.querySelector(".cx-counter");
    if (note && out) out.textContent = `${note.value.length} / ${note.maxLength}`;
  }

  function saveDraft() {
    const f = form();
    if (!f || f.dataset.readonly === "1") return;
    const verdict = f.querySelector('input[name="cx-verdict"]:checked');
    const draft = {
      at: Date.now(),
      verdict: verdict ? verdict.value : null,
      chosen: Array.from(f.querySelectorAll('input[name="cx-option"]:checked'), (x) => x.value),
      comment: (f.querySelector("#cx-comment") || {}).value || "",
    };
    try {
      localStorage.setItem(draftKey(f), JSON.stringify(draft));
    } catch (e) {
      /* storage full or disabled: the draft only lives in the page */
    }
  }

  function restoreDraft(f) {
    let draft = null;
    try {
      draft = JSON.parse(localStorage.getItem(draftKey(f)) || "null");
    } catch (e) {
      draft = null;
    }
    if (!draft || Date.now() - draft.at > MAX_AGE_MS || f.dataset.readonly === "1") return;
    for (const input of f.querySelectorAll('input[name="cx-verdict"], input[name="cx-option"]')) {
      const want = input.name === "cx-verdict" ? draft.verdict === input.value : draft.chosen.includes(input.value);
      if (!input.disabled && want) {
        input.checked = true;
        mark(input);
      }
    }
    const note = f.querySelector("#cx-comment");
    if (note && draft.comment && !note.value) {
      note.value = draft.comment;
      mark(note);
    }
  }

  function dropDraft(k) {
    const f = form();
    if (!f || !k) return;
    try {
      localStorage.removeItem(`${DRAFT}${f.dataset.user}:${k}`);
    } catch (e) {
      /* nothing stored */
    }
  }

  // A new form (another case or chain): back to what the server drew, then the draft, if any.
  function drawn() {
    busy = false;
    const f = form();
    if (!f) return;
    if (f.dataset.key !== key) {
      if (sentFor && sentFor !== f.dataset.key) dropDraft(sentFor); // submitted: the case moved on
      sentFor = null;
      key = f.dataset.key;
      f.reset();
      setFor.clear();
      restoreDraft(f);
    } else {
      sentFor = null; // refused: the reviewer's choices stay, and so does the draft
    }
    for (const input of inputs(f)) if (input.defaultChecked) mark(input); // what the server drew
    if (f.dataset.readonly === "1") dropDraft(f.dataset.key);
    counter(f);
  }

  element.addEventListener("change", (e) => {
    const f = form();
    if (!f) return;
    mark(e.target);
    if (e.target.name === "cx-option" && e.target.checked) {
      const disagree = f.querySelector('input[name="cx-verdict"][value="disagree"]');
      if (disagree && !disagree.disabled) {
        disagree.checked = true; // choosing an option means disagreeing
        mark(disagree);
      }
    }
    saveDraft();
  });
  element.addEventListener("input", (e) => {
    const f = form();
    if (!f || e.target.id !== "cx-comment") return;
    mark(e.target);
    counter(f);
    saveDraft();
  });

  function submit() {
    const f = form();
    if (!f || busy || f.dataset.readonly === "1") return;
    const verdict = f.querySelector('input[name="cx-verdict"]:checked');
    const chosen = Array.from(f.querySelectorAll('input[name="cx-option"]:checked'), (x) => x.value);
    const comment = f.querySelector("#cx-comment");
    busy = true;
    sentFor = f.dataset.key;
    const button = f.querySelector("#cx-submit");
    if (button) button.textContent = "Submitting…";
    trigger("submit", {
      case_id: Number(f.dataset.case),
      chain_id: Number(f.dataset.chain),
      verdict: verdict ? verdict.value : null,
      verdict_set_for: verdict ? setFor.get(id(verdict)) || null : null,
      chosen,
      comment: comment ? comment.value : "",
    });
  }

  // Keys for the final answer (one listener for the page, pointing at the newest panel).
  function choose(value) {
    const f = form();
    if (!f || f.dataset.readonly === "1" || !element.offsetParent) return false;
    const radio = f.querySelector(`input[name="cx-verdict"][value="${value}"]`);
    if (!radio || radio.disabled) return false;
    radio.checked = true;
    mark(radio);
    saveDraft();
    radio.closest("fieldset").scrollIntoView({ block: "nearest" });
    if (value === "disagree") {
      const first = f.querySelector('input[name="cx-option"]:not([disabled])');
      if (first) first.focus();
    } else if (value === "unusable") {
      const note = f.querySelector("#cx-comment");
      if (note) note.focus();
    }
    return true;
  }
  window.__cxAnswer = { choose, submit };
  // The answer verdicts' keys come from the server's vocabulary in the page head (#cx-vocab).
  function answerKeys() {
    if (!window.__cxAnswerKeyMap) {
      const island = document.getElementById("cx-vocab");
      const vocab = island ? JSON.parse(island.textContent) : { answers: [] };
      window.__cxAnswerKeyMap = Object.fromEntries(vocab.answers.map((a) => [a.key, a.value]));
    }
    return window.__cxAnswerKeyMap;
  }
  if (!window.__cxAnswerKeys) {
    window.__cxAnswerKeys = (e) => {
      const a = window.__cxAnswer;
      const t = e.target;
      const typing = window.cxTyping(t); // an answer option is not typing: the keys work there
      if (!a || typing || e.ctrlKey || e.metaKey || e.altKey) return;
      const chosen = answerKeys()[e.key];
      if (chosen && a.choose(chosen)) e.preventDefault();
    };
    document.addEventListener("keydown", window.__cxAnswerKeys);
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
  watch("value", drawn);
  drawn();
})();
