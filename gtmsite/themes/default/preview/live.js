// gtmsite serve: live reload and the error overlay. Injected only by the preview server.
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-epoch]");
  var epoch = parseInt(script.getAttribute("data-epoch"), 10) || 0;
  var src = script.getAttribute("src");
  var base = src.slice(0, src.indexOf("_gtmsite/live.js"));
  var key = "gtm-scroll:" + location.pathname;

  try {
    var saved = sessionStorage.getItem(key);
    if (saved !== null) {
      sessionStorage.removeItem(key);
      var y = parseInt(saved, 10) || 0;
      window.scrollTo(0, y);
      window.addEventListener("load", function () { window.scrollTo(0, y); });
    }
  } catch (e) { /* storage unavailable */ }

  function reload() {
    try { sessionStorage.setItem(key, String(window.scrollY)); } catch (e) { /* ignore */ }
    location.reload();
  }

  var overlay = null;
  function showProblems(problems) {
    if (!problems.length) {
      if (overlay) { overlay.remove(); overlay = null; }
      return;
    }
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "gtm-error-overlay";
      overlay.setAttribute("role", "alert");
      overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;background:rgba(20,10,10,.88);color:#fff;" +
        "overflow:auto;padding:2rem;font:14px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace";
      document.body.appendChild(overlay);
    }
    overlay.innerHTML = "";
    var title = document.createElement("h2");
    title.textContent = problems.length + (problems.length === 1 ? " error" : " errors") + " — the page shows the last good build";
    title.style.cssText = "margin:0 0 1rem;color:#ff8a80;font:600 18px system-ui,sans-serif";
    overlay.appendChild(title);
    problems.forEach(function (p) {
      var item = document.createElement("div");
      item.className = "gtm-error-item";
      item.style.cssText = "margin:0 0 1.25rem;padding:.75rem 1rem;border-left:4px solid #ff5252;background:rgba(255,255,255,.06)";
      var where = document.createElement("div");
      where.className = "gtm-error-where";
      where.style.cssText = "color:#ffd180;font-weight:600";
      where.textContent = p.path + (p.line ? ":" + p.line : "");
      var message = document.createElement("div");
      message.className = "gtm-error-message";
      message.style.whiteSpace = "pre-wrap";
      message.textContent = p.message;
      item.appendChild(where);
      item.appendChild(message);
      if (p.sql) {
        var sql = document.createElement("pre");
        sql.className = "gtm-error-sql";
        sql.style.cssText = "margin:.5rem 0 0;padding:.5rem;background:rgba(0,0,0,.35);white-space:pre-wrap";
        sql.textContent = p.sql;
        item.appendChild(sql);
      }
      overlay.appendChild(item);
    });
    var hint = document.createElement("div");
    hint.textContent = "Fix the file and save: this page reloads by itself.";
    hint.style.opacity = ".7";
    overlay.appendChild(hint);
  }

  if (!window.EventSource) return;
  var source = new EventSource(base + "_gtmsite/events");
  source.addEventListener("status", function (event) {
    var state = JSON.parse(event.data);
    if (state.epoch > epoch && !state.problems.length) { reload(); return; }
    showProblems(state.problems);
  });
})();
