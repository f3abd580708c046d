// The login behind every page (loaded in <head> before Gradio): when it is gone, the person goes
// to the login page instead of seeing a page of errors. A page restored from the back/forward
// cache is loaded afresh (the server then asks for a login if there is none); an API call the
// server answers with 401 sends the page to /login?next=<this page>. Logging out also removes
// the drafts this browser kept (review text must not outlive the login on a shared workstation).
(() => {
  if (window.__cxSession) return;
  window.__cxSession = true;
  const toLogin = () => {
    const here = window.location.pathname + window.location.search;
    window.location.replace("/login?next=" + encodeURIComponent(here));
  };
  window.addEventListener("pageshow", (e) => {
    if (e.persisted) window.location.reload();
  });
  const plainFetch = window.fetch.bind(window);
  window.fetch = async (...args) => {
    const response = await plainFetch(...args);
    if (response.status === 401 && new URL(response.url, window.location.href).origin === window.location.origin) {
      toLogin();
    }
    return response;
  };
  document.addEventListener("submit", (e) => {
    if (!e.target.matches || !e.target.matches('form[action="/logout"]')) return;
    try {
      for (const key of Object.keys(localStorage)) if (key.startsWith("cx-draft:")) localStorage.removeItem(key);
    } catch (err) {
      /* storage disabled: nothing kept */
    }
  });
})();
