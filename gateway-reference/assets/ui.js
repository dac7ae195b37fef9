// The Identity Manager's script: progressive enhancement only. Every page works without it;
// with it, forms confirm destructive actions and copy buttons copy.
"use strict";
(function () {
  // Announces a message to screen readers through the page's live region, if any.
  const announce = (text) => {
    const live = document.getElementById("live");
    if (live) { live.textContent = text; }
  };

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
      announce("Copied to the clipboard");
      setTimeout(() => { b.textContent = was; }, 1500);
    } catch (_) {
      if (src.select) { src.select(); }
    }
  });
})();
