// The Identity Manager's script: progressive enhancement only. Every page works without it;
// with it, forms confirm destructive actions, copy buttons copy, rules are reordered by drag
// and drop or the arrow keys, and the rules wizard checks its condition as it is typed.
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

  // The session's CSRF token, from any form of the page (sent as X-CSRF-Token).
  const csrf = () => {
    const i = document.querySelector("input[name=csrf]");
    return i ? i.value : "";
  };

  // Posts a form body; the server answers with a redirect to the page to show.
  const post = async (url, fields) => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf() },
      body: new URLSearchParams(fields).toString(),
      credentials: "same-origin",
    });
    if (!res.ok) { throw new Error("HTTP " + res.status); }
    return res;
  };

  // Rules: drag and drop, and the arrow keys on a rule's handle.
  const list = document.getElementById("rule-list");
  if (list) {
    const items = () => Array.from(list.querySelectorAll("li[data-rule-id]"));
    const order = () => items().map((li) => li.getAttribute("data-rule-id")).join(",");
    const save = async (focusId) => {
      try {
        await post(list.getAttribute("data-order-url"), { order: order() });
        sessionStorage.setItem("gw-focus-rule", focusId || "");
        window.location.reload();
      } catch (err) {
        announce("The new order was not saved: " + err.message);
      }
    };
    let dragged = null;
    for (const li of items()) {
      const handle = li.querySelector(".handle");
      handle.hidden = false;
      li.draggable = true;
      li.addEventListener("dragstart", (e) => {
        dragged = li;
        li.classList.add("dragging");
        e.dataTransfer.effectAllowed = "move";
        e.dataTransfer.setData("text/plain", li.getAttribute("data-rule-id"));
      });
      li.addEventListener("dragend", () => { li.classList.remove("dragging"); });
      li.addEventListener("dragover", (e) => {
        if (!dragged || dragged === li) { return; }
        e.preventDefault();
        const r = li.getBoundingClientRect();
        const after = e.clientY > r.top + r.height / 2;
        list.insertBefore(dragged, after ? li.nextSibling : li);
      });
      li.addEventListener("drop", (e) => { e.preventDefault(); });
      handle.addEventListener("keydown", (e) => {
        if (e.key !== "ArrowUp" && e.key !== "ArrowDown") { return; }
        e.preventDefault();
        const sib = e.key === "ArrowUp" ? li.previousElementSibling : li.nextElementSibling;
        if (!sib) { return; }
        list.insertBefore(li, e.key === "ArrowUp" ? sib : sib.nextSibling);
        save(li.getAttribute("data-rule-id"));
      });
    }
    list.addEventListener("drop", () => {
      if (dragged) { const id = dragged.getAttribute("data-rule-id"); dragged = null; save(id); }
    });
    // After a keyboard move the page reloads: give the focus back to the moved rule's handle.
    const again = sessionStorage.getItem("gw-focus-rule");
    if (again) {
      sessionStorage.removeItem("gw-focus-rule");
      const li = list.querySelector('li[data-rule-id="' + CSS.escape(again) + '"]');
      if (li) {
        li.querySelector(".handle").focus();
        const pos = li.querySelector(".rule-pos");
        announce("Moved to position " + (pos ? pos.textContent : ""));
      }
    }
  }

  // The wizard: the condition checked as it is typed.
  const cond = document.querySelector("textarea[data-check-url]");
  if (cond) {
    const status = document.getElementById("condition-status");
    let timer = null;
    let seq = 0;
    const check = async () => {
      const mine = ++seq;
      const url = cond.getAttribute("data-check-url") + "?" + new URLSearchParams({ condition: cond.value });
      try {
        const res = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        const body = await res.json();
        if (mine !== seq) { return; }
        status.textContent = body.message;
        status.className = body.valid ? "muted" : "field-error";
        if (body.valid) { cond.removeAttribute("aria-invalid"); } else { cond.setAttribute("aria-invalid", "true"); }
      } catch (_) { /* the server checks again on submit */ }
    };
    cond.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 250); });
  }

  // The wizard: the group picker only for the group scopes; a value only when applied.
  const wizard = document.querySelector("form.wizard");
  if (wizard) {
    const sync = () => {
      const scope = wizard.querySelector("input[name=scope]:checked");
      const group = wizard.querySelector("[data-scope-group]");
      if (group) { group.disabled = !scope || scope.value === "all"; }
      for (const sel of wizard.querySelectorAll("select[data-apply]")) {
        const cell = wizard.querySelector('[data-value="' + sel.getAttribute("data-apply") + '"]');
        for (const c of cell.querySelectorAll("select, input")) { c.disabled = sel.value === ""; }
      }
    };
    wizard.addEventListener("change", sync);
    sync();
  }
})();
