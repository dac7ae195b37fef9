// The Identity Manager's script: progressive enhancement only. Every page works without it;
// with it, forms confirm destructive actions, copy buttons copy, and pages may call
// `gw.post(url, body)`, which sends the session's CSRF token as `X-CSRF-Token`.
"use strict";
(function () {
  const csrf = () => {
    const m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  };

  const gw = {
    csrf,
    // fetch() with the CSRF header and same-origin credentials.
    async request(method, url, body, headers) {
      const h = Object.assign({ "X-CSRF-Token": csrf() }, headers || {});
      let payload = body;
      if (body && typeof body === "object" && !(body instanceof FormData) && !(body instanceof URLSearchParams)) {
        h["Content-Type"] = "application/json";
        payload = JSON.stringify(body);
      }
      return fetch(url, { method, headers: h, body: payload, credentials: "same-origin" });
    },
    post(url, body, headers) { return gw.request("POST", url, body, headers); },
    // Announces a message to screen readers through the page's live region, if any.
    announce(text) {
      const live = document.getElementById("live");
      if (live) { live.textContent = text; }
    },
  };
  window.gw = gw;

  document.addEventListener("submit", (e) => {
    const form = e.target;
    const q = form.getAttribute && form.getAttribute("data-confirm");
    if (q && !window.confirm(q)) { e.preventDefault(); }
  });

  document.addEventListener("click", async (e) => {
    const b = e.target.closest && e.target.closest("[data-copy]");
    if (!b) { return; }
    const src = document.getElementById(b.getAttribute("data-copy"));
    if (!src) { return; }
    const text = src.value !== undefined ? src.value : src.textContent;
    try {
      await navigator.clipboard.writeText(text.trim());
      const was = b.textContent;
      b.textContent = "Copied";
      gw.announce("Copied to the clipboard");
      setTimeout(() => { b.textContent = was; }, 1500);
    } catch (_) {
      if (src.select) { src.select(); }
    }
  });
})();
