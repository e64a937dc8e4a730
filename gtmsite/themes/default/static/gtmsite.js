// gtmsite: small progressive enhancements. Every page reads fine without this script.
(function () {
  "use strict";
  var root = document.documentElement;

  // Light/dark switch: auto (system) -> dark -> light -> auto. Its accessible name starts with what it shows.
  var switcher = document.querySelector(".theme-switch");
  if (switcher) {
    switcher.hidden = false;
    var label = function () {
      var mode = root.dataset.theme || "auto";
      var text = { auto: "Auto", dark: "Dark", light: "Light" }[mode];
      switcher.innerHTML = "";
      var icon = document.createElement("span");
      icon.className = "ts-icon";
      icon.setAttribute("aria-hidden", "true");
      icon.textContent = { auto: "◐", dark: "☾", light: "☀" }[mode];
      var name = document.createElement("span");
      name.className = "ts-text";
      name.textContent = " " + text;
      switcher.appendChild(icon);
      switcher.appendChild(name);
      switcher.setAttribute("aria-label", text + " theme (switch light/dark)");
      switcher.title = "Theme: " + text.toLowerCase() + " (click to switch)";
    };
    label();
    switcher.addEventListener("click", function () {
      var next = { auto: "dark", dark: "light", light: "auto" }[root.dataset.theme || "auto"];
      root.dataset.theme = next;
      try { localStorage.setItem("gtm-theme", next); } catch (e) { /* private mode */ }
      label();
      document.dispatchEvent(new CustomEvent("gtm-theme", { detail: next }));
    });
  }

  // Phone navigation: a link to #sidebar that CSS opens without JavaScript; with it, a toggle that keeps the URL.
  var toggle = document.querySelector(".nav-toggle");
  if (toggle) {
    toggle.setAttribute("aria-expanded", "false");
    toggle.addEventListener("click", function (event) {
      event.preventDefault();
      var open = document.body.classList.toggle("nav-open");
      toggle.setAttribute("aria-expanded", String(open));
    });
    var close = document.querySelector(".nav-close");
    if (close) close.addEventListener("click", function (event) {
      event.preventDefault();
      document.body.classList.remove("nav-open");
      toggle.setAttribute("aria-expanded", "false");
      toggle.focus();
    });
  }

  // Markdown tables scroll sideways when wide: let the keyboard reach them too (without measuring them,
  // which would force a layout of the whole page while it loads).
  document.querySelectorAll(".report > table").forEach(function (table) {
    table.tabIndex = 0;
    table.setAttribute("role", "region");
    table.setAttribute("aria-label", "Table");
  });

  // Tables: sort by a header click, search, pagination.
  function cellValue(td) {
    var raw = td.getAttribute("data-value");
    if (raw === null) raw = td.textContent;
    var num = Number(raw);
    return raw !== "" && !isNaN(num) ? num : raw.toLowerCase();
  }
  function compare(a, b) {
    if (a === b) return 0;
    if (a === "") return 1;
    if (b === "") return -1;
    if (typeof a === typeof b) return a < b ? -1 : 1;
    return typeof a === "number" ? -1 : 1;
  }
  // Totals of the rows a search or a dropdown leaves visible, in the column's format (as formats.py writes it).
  function grouped(n, decimals) {  // Python's f"{n:,.{decimals}f}": rounds the exact binary value, as toFixed does
    var parts = Math.abs(n).toFixed(decimals).split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (n < 0 ? "-" : "") + parts.join(".");
  }
  function fixed(n, decimals) {  // formats.py _fixed: 1,234.50, never -0
    var text = grouped(n, decimals);
    return text.charAt(0) === "-" && !/[1-9]/.test(text) ? text.slice(1) : text;
  }
  function money(symbol, decimals) {
    return function (v) {
      var text = fixed(v, decimals);
      return text.charAt(0) === "-" ? "-" + symbol + text.slice(1) : symbol + text;
    };
  }
  var UNITS = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"], [1, ""]];
  function inUnit(symbol, divisor, suffix, decimals) {  // formats.py _in_unit
    return function (v) {
      var scaled = Math.abs(v) / divisor;
      var places = decimals === null ? (scaled < 100 ? 1 : 0) : decimals;
      if (v && Number(scaled.toFixed(places)) === 0) {
        var smaller = [1, ""];
        for (var i = 0; i < UNITS.length; i++) {
          if (UNITS[i][0] < divisor && Math.abs(v) / UNITS[i][0] >= 0.95) { smaller = UNITS[i]; break; }
        }
        return smaller[0] < divisor ? inUnit(symbol, smaller[0], smaller[1], decimals)(v) : money(symbol, 2)(v);
      }
      var text = grouped(scaled, places);
      if (decimals === null) text = text.replace(/\.0$/, "");
      return (v < 0 && /[1-9]/.test(text) ? "-" : "") + symbol + text + suffix;
    };
  }
  function compact(symbol) {  // formats.py _compact
    return function (v) {
      for (var i = 1; i < UNITS.length; i++) {
        if (Math.abs(v) >= UNITS[i][0] * 0.9995 || UNITS[i][0] === 1) return inUnit(symbol, UNITS[i][0], UNITS[i][1], null)(v);
      }
      return inUnit(symbol, 1, "", null)(v);
    };
  }
  function percent(decimals) { return function (v) { return fixed(v * 100, decimals) + "%"; }; }
  function number(decimals) { return function (v) { return fixed(v, decimals); }; }
  var FORMATS = {
    usd: money("$", 2), usd0: money("$", 0), usdk: inUnit("$", 1e3, "k", null), usdm: inUnit("$", 1e6, "M", null),
    eur: money("\u20ac", 2), pct: percent(0), pct1: percent(1), num0: number(0), num1: number(1), num2: number(2),
    numk: compact("")
  };
  // A column without a format is formatted by its magnitude (formats.py auto_format): "auto:divisor:places:unit".
  function knownFormat(fmt) {
    if (FORMATS[fmt]) return FORMATS[fmt];
    var auto = /^auto:([0-9.e+]+):(\d+):(\w*)$/.exec(fmt || "");
    if (!auto) return null;
    var divisor = Number(auto[1]), places = Number(auto[2]), unit = auto[3];
    return function (v) { return fixed(v / divisor, places) + unit; };
  }
  function formatTotal(v, fmt, isInt) {
    if (fmt) return knownFormat(fmt)(v);
    if (isInt) return Math.abs(v) >= 10000 ? grouped(v, 0) : String(v);
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return grouped(v, 0);
    return Math.abs(v) >= 1 ? grouped(v, 2) : String(Number(v.toPrecision(4)));
  }
  function totalsFollow(table, rows) {
    var foot = table.tFoot && table.tFoot.rows[0];
    if (!foot) return function () {};
    var cells = Array.prototype.slice.call(foot.cells);
    var label = foot.querySelector(".gtm-total-label");
    var all = foot.getAttribute("data-rows") || String(rows.length);
    var original = cells.map(function (td) { return td.textContent; });
    // A format only Python knows (a format spec such as ",.3f"): the totals stay those of all rows, and say so.
    var exact = cells.every(function (td) { var f = td.getAttribute("data-fmt"); return !f || knownFormat(f); });
    return function (shown, filtered) {
      cells.forEach(function (td, index) {
        if (!td.hasAttribute("data-fmt")) return;
        if (!filtered || !exact) { td.textContent = original[index]; return; }
        var sum = 0, any = false;
        shown.forEach(function (r) {
          var raw = r.cells[index] && r.cells[index].getAttribute("data-value");
          if (raw !== null && raw !== "" && !isNaN(Number(raw))) { sum += Number(raw); any = true; }
        });
        td.textContent = any ? formatTotal(sum, td.getAttribute("data-fmt"), td.hasAttribute("data-int")) : "\u2013";
      });
      if (label) {
        label.textContent = !filtered ? "Total" : exact ? "Total (" + shown.length + " of " + all + " rows)"
          : "Total of all " + all + " rows";
      }
      foot.classList.toggle("gtm-filtered-total", filtered);
    };
  }
  document.querySelectorAll(".gtm-table").forEach(function (box) {
    var table = box.querySelector("table");
    var tbody = table && table.tBodies[0];
    if (!tbody) return;
    var rows = Array.prototype.slice.call(tbody.rows);
    var pageSize = parseInt(box.getAttribute("data-page-size"), 10) || 0;
    var page = 0, query = "";
    var tools = document.createElement("div");
    tools.className = "gtm-table-tools";
    var input = null;
    if (box.getAttribute("data-search") === "true" && rows.length > 1) {
      input = document.createElement("input");
      input.type = "search";
      input.placeholder = "Search " + rows.length + " rows";
      input.setAttribute("aria-label", "Search this table");
      tools.appendChild(input);
    }
    var pager = document.createElement("div");
    pager.className = "gtm-pager";
    var scroll = box.querySelector(".gtm-table-scroll");
    if (tools.childNodes.length) box.insertBefore(tools, scroll);
    scroll.parentNode.insertBefore(pager, scroll.nextSibling);

    var totals = totalsFollow(table, rows);
    var filterIndex = -1, filterValue = "";
    box._gtmFilter = function (column, value) {
      var heads = table.tHead ? Array.prototype.slice.call(table.tHead.rows[0].cells) : [];
      filterIndex = heads.findIndex(function (th) { return th.getAttribute("data-column") === column; });
      filterValue = value; page = 0; draw();
    };
    function visibleRows() {
      return rows.filter(function (r) {
        if (filterValue && filterIndex >= 0 && r.cells[filterIndex].getAttribute("data-value") !== filterValue) return false;
        return !query || r.textContent.toLowerCase().indexOf(query) !== -1;
      });
    }
    function draw() {
      var shown = visibleRows();
      var pages = pageSize ? Math.max(1, Math.ceil(shown.length / pageSize)) : 1;
      if (page >= pages) page = pages - 1;
      var start = pageSize ? page * pageSize : 0, end = pageSize ? start + pageSize : shown.length;
      rows.forEach(function (r) { r.hidden = true; });
      shown.slice(start, end).forEach(function (r) { r.hidden = false; });
      totals(shown, Boolean(query || filterValue));
      pager.innerHTML = "";
      if (pages > 1 || query || filterValue) {
        var info = document.createElement("span");
        info.textContent = shown.length ? (start + 1) + "–" + Math.min(end, shown.length) + " of " + shown.length : "No matching rows";
        pager.appendChild(info);
      }
      if (pages > 1) {
        [["‹ Prev", -1], ["Next ›", 1]].forEach(function (spec) {
          var b = document.createElement("button");
          b.type = "button"; b.textContent = spec[0];
          b.disabled = spec[1] < 0 ? page === 0 : page >= pages - 1;
          b.addEventListener("click", function () { page += spec[1]; draw(); });
          pager.appendChild(b);
        });
      }
    }
    if (input) input.addEventListener("input", function () { query = input.value.trim().toLowerCase(); page = 0; draw(); });
    if (box.getAttribute("data-sort") === "true") {
      var heads = table.tHead ? table.tHead.rows[0].cells : [];
      Array.prototype.forEach.call(heads, function (th, index) {
        th.setAttribute("data-sortable", "");
        th.tabIndex = 0;
        var sort = function () {
          var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
          Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
          th.setAttribute("aria-sort", dir);
          rows.sort(function (a, b) {
            var c = compare(cellValue(a.cells[index]), cellValue(b.cells[index]));
            return dir === "ascending" ? c : -c;
          });
          rows.forEach(function (r) { tbody.appendChild(r); });
          page = 0; draw();
        };
        th.addEventListener("click", sort);
        th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
      });
    }
    draw();
  });
})();

// Charts: the static SVG in the page is the chart. The Vega bundle (the site's own) loads only when a
// reader reaches for a chart (pointer, focus, touch; or, once they scroll, a chart that comes into view
// while the browser is idle), and only the charts reached become interactive Vega views with tooltips.
// Dropdowns filter charts and tables in place.
(function () {
  "use strict";
  var figures = Array.prototype.slice.call(document.querySelectorAll(".gtm-chart"));
  var vegaMeta = document.querySelector('meta[name="gtm-vega"]');
  var vegaUrl = vegaMeta ? vegaMeta.content : null;
  var inputs = {};
  document.querySelectorAll("select[data-input]").forEach(function (select) {
    inputs[select.getAttribute("data-input")] = select;
  });
  var loading = null;
  function loadVega() {
    if (window.vegaEmbed) return Promise.resolve();
    if (!vegaUrl) return Promise.reject(new Error("no Vega bundle on this page"));
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = vegaUrl;
        script.onload = resolve;
        script.onerror = function () { loading = null; reject(new Error("cannot load " + vegaUrl)); };
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  function dark() {
    var t = document.documentElement.dataset.theme;
    return t === "dark" || (t !== "light" && window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
  }
  function themed(spec) {
    if (!dark()) return spec;
    var copy = JSON.parse(JSON.stringify(spec));
    var c = copy.config = copy.config || {};
    var soft = "#9aa3b5", line = "#2a3140";
    c.axis = Object.assign({}, c.axis, { labelColor: soft, titleColor: soft, gridColor: line, domainColor: line, tickColor: line });
    c.legend = Object.assign({}, c.legend, { labelColor: soft, titleColor: soft });
    c.text = Object.assign({}, c.text, { color: "#e4e7ee" });
    (copy.layer || []).forEach(function (layer) {
      if (layer.mark && layer.mark.type === "text" && layer.mark.color) layer.mark.color = "#e4e7ee";
    });
    return copy;
  }
  function filtered(spec, figure) {
    var name = figure.getAttribute("data-filter");
    var select = name && inputs[name];
    figure.classList.toggle("gtm-filtered", Boolean(select && select.value));
    if (!select || !select.value) return spec;
    var column = select.getAttribute("data-column");
    var copy = Object.assign({}, spec);
    copy.data = { values: spec.data.values.filter(function (row) { return String(row[column]) === select.value; }) };
    return copy;
  }
  function draw(figure) {
    if (!window.vegaEmbed) return;
    var spec = figure._gtmSpec;
    if (!spec) {
      var node = figure.querySelector("script.gtm-chart-spec");
      if (!node) return;
      spec = figure._gtmSpec = JSON.parse(node.textContent);
    }
    var view = figure.querySelector(".gtm-chart-view");
    var target = figure.querySelector(".gtm-chart-live");
    if (!target) {
      target = document.createElement("div");
      target.className = "gtm-chart-live";
      view.appendChild(target);
    }
    if (figure._gtmView) figure._gtmView.finalize();
    window.vegaEmbed(target, themed(filtered(spec, figure)), { actions: false, renderer: "svg" })
      .then(function (result) {
        figure._gtmView = result.view;
        figure.classList.add("gtm-live");
      })
      .catch(function (error) { console.warn("gtmsite: chart stays static:", error); });
  }
  function activate(figure) {
    if (figure._gtmActive) return;
    figure._gtmActive = true;
    loadVega().then(function () { draw(figure); }, function (error) {
      figure._gtmActive = false;
      console.warn("gtmsite: charts stay static:", error);
    });
  }
  function redrawLive() { figures.forEach(function (f) { if (f._gtmActive) draw(f); }); }

  // Narrow charts show their phone drawing (kept as text in a <noscript> until needed), put in place as
  // each chart comes near the screen, so a phone lays out only the drawings it is about to show.
  function narrowDrawing(figure) {
    var source = figure.querySelector("noscript.gtm-narrow-src");
    var view = figure.querySelector(".gtm-chart-view");
    if (!source || !view || view.clientWidth > 510) return;
    source.insertAdjacentHTML("afterend", source.textContent);
    source.remove();
  }
  var near = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) { near.unobserve(entry.target); narrowDrawing(entry.target); }
    });
  }, { rootMargin: "800px 0px" }) : null;
  function narrowDrawings() {
    if (window.innerWidth >= 800) return;  // every chart is wider than 510px here
    figures.forEach(function (figure) {
      if (!figure.querySelector("noscript.gtm-narrow-src")) return;
      if (near) near.observe(figure); else narrowDrawing(figure);
    });
  }
  narrowDrawings();
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(narrowDrawings, 150);
  });

  figures.forEach(function (figure) {
    var reach = function () { activate(figure); };
    ["pointerenter", "focusin", "touchstart"].forEach(function (name) {
      figure.addEventListener(name, reach, { once: true, passive: true });
    });
  });
  if (figures.length && "IntersectionObserver" in window) {
    var idle = window.requestIdleCallback || function (fn) { return setTimeout(fn, 200); };
    var onScroll = function () {
      window.removeEventListener("scroll", onScroll);
      idle(function () {
        var seen = new IntersectionObserver(function (entries) {
          entries.forEach(function (entry) {
            if (entry.isIntersecting) {
              seen.unobserve(entry.target);
              idle(function () { activate(entry.target); });
            }
          });
        }, { rootMargin: "0px 0px -20% 0px" });
        figures.forEach(function (f) { seen.observe(f); });
      });
    };
    window.addEventListener("scroll", onScroll, { passive: true });
  }
  document.addEventListener("gtm-theme", redrawLive);
  if (window.matchMedia) {
    var query = window.matchMedia("(prefers-color-scheme: dark)");
    if (query.addEventListener) query.addEventListener("change", redrawLive);
  }
  Object.keys(inputs).forEach(function (name) {
    inputs[name].addEventListener("change", function () {
      figures.forEach(function (f) {
        if (f.getAttribute("data-filter") !== name) return;
        if (f._gtmActive) draw(f); else activate(f);
      });
      document.querySelectorAll('.gtm-table[data-filter="' + name + '"]').forEach(function (box) {
        if (box._gtmFilter) box._gtmFilter(inputs[name].getAttribute("data-column"), inputs[name].value);
      });
    });
  });
})();

// Versions: a switcher that opens the same page in another version, and a banner on old versions.
// The page finds its own version from its URL: <base>latest/... or <base>v/<id>/...
(function () {
  "use strict";
  var meta = function (name) { var m = document.querySelector('meta[name="' + name + '"]'); return m ? m.content : null; };
  var base = meta("gtm-base"), pagePath = meta("gtm-page");
  var box = document.querySelector(".version-switcher");
  if (!base || !pagePath || !box || !window.fetch) return;
  var origin = location.origin === "null" ? "" : location.origin;
  var rest = location.pathname.indexOf(base) === 0 ? location.pathname.slice(base.length) : null;
  if (rest === null) return;
  var current = null;
  if (rest.indexOf("latest/") === 0) current = "latest";
  else if (rest.indexOf("v/") === 0) current = decodeURIComponent(rest.split("/")[1]);
  if (!current) return;
  var inPage = pagePath.replace(/^\//, "");
  function versionUrl(id) { return base + (id === "latest" ? "latest/" : "v/" + encodeURIComponent(id) + "/"); }

  fetch(base + "versions.json", { cache: "no-cache" }).then(function (r) { return r.ok ? r.json() : []; }).then(function (versions) {
    if (!versions.length) return;
    var newest = versions[0].id;
    var mine = current === "latest" ? newest : current;
    var select = box.querySelector("select");
    versions.forEach(function (v) {
      var option = document.createElement("option");
      option.value = v.id;
      // The default label is the build's date and time, which the id already says: show only a label someone chose.
      var chosen = v.label && v.label !== v.id && !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/.test(v.label);
      option.textContent = v.id + (v.id === newest ? " (latest)" : "") + (chosen ? " · " + v.label : "");
      if (v.label) option.title = v.label;
      if (v.id === mine) option.selected = true;
      select.appendChild(option);
    });
    select.hidden = false;
    box.classList.add("ready");
    select.addEventListener("change", function () {
      var id = select.value;
      var root = id === newest ? versionUrl("latest") : versionUrl(id);
      fetch(versionUrl(id) + "_pages.json").then(function (r) { return r.ok ? r.json() : []; }).then(function (pages) {
        location.href = origin + root + (pages.indexOf(pagePath) !== -1 ? inPage : "");
      }).catch(function () { location.href = origin + root; });
    });
    if (mine !== newest && current !== "latest") {
      var banner = document.querySelector(".version-banner");
      banner.innerHTML = "";
      banner.appendChild(document.createTextNode("You are looking at version " + mine + ", which is not the latest. "));
      var link = document.createElement("a");
      link.href = versionUrl("latest") + inPage;
      link.textContent = "Open this page in the latest version (" + newest + ")";
      banner.appendChild(link);
      banner.hidden = false;
    }
  }).catch(function () { /* no versions.json (preview): no switcher */ });
})();

// Search: the version's own Pagefind index (<version>/_pagefind/), imported on the first keystroke, so a
// page that nobody searches loads nothing for it. Results are links into the same version.
(function () {
  "use strict";
  var box = document.querySelector(".site-search");
  if (!box || !window.Promise) return;
  var input = box.querySelector("input[type=search]");
  var list = box.querySelector(".search-results");
  var root = new URL(box.getAttribute("data-root"), location.href);
  if (root.protocol === "file:") return; // browsers refuse modules from file://: the box stays hidden
  box.hidden = false;
  var loading = null, asked = 0;

  // _pagefind/gtmsite-bundles.json lists the index's bundles: one, or one per shard of a big site, merged.
  function bundles() {
    return fetch(root.pathname + "_pagefind/gtmsite-bundles.json").then(function (response) {
      return response.ok ? response.json() : ["_pagefind/"];
    }).then(function (list) {
      var valid = Array.isArray(list) && list.length && list.every(function (b) {
        return typeof b === "string" && /^_pagefind\/(shard-\d+\/)?$/.test(b);
      });
      return valid ? list : ["_pagefind/"];
    });
  }
  function load() {
    if (!loading) {
      loading = bundles().then(function (list) {
        return import(root.pathname + list[0] + "pagefind.js").then(function (pagefind) {
          return Promise.resolve(pagefind.options({ baseUrl: root.pathname })).then(function () {
            return Promise.all(list.slice(1).map(function (b) {
              return pagefind.mergeIndex(root.pathname + b, { baseUrl: root.pathname });
            }));
          }).then(function () { return pagefind; });
        });
      });
      loading.catch(function () { loading = null; });
    }
    return loading;
  }
  function close() {
    list.hidden = true;
  }
  // Pagefind's excerpt is escaped text with <mark> around the matches: rebuild it from text nodes only.
  function excerpt(html) {
    var out = document.createElement("p");
    out.className = "search-excerpt";
    var parsed = new DOMParser().parseFromString(html, "text/html").body;
    parsed.childNodes.forEach(function (node) {
      if (node.nodeName === "MARK") {
        var mark = document.createElement("mark");
        mark.textContent = node.textContent;
        out.appendChild(mark);
      } else {
        out.appendChild(document.createTextNode(node.textContent));
      }
    });
    return out;
  }
  function show(items, query) {
    list.innerHTML = "";
    if (!items.length) {
      var none = document.createElement("p");
      none.className = "search-none";
      none.textContent = "No pages match \u201c" + query + "\u201d";
      list.appendChild(none);
    }
    var ul = document.createElement("ul");
    items.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = item.url;
      a.className = "search-title";
      a.textContent = (item.meta && item.meta.title) || item.url;
      li.appendChild(a);
      li.appendChild(excerpt(item.excerpt || ""));
      ul.appendChild(li);
    });
    if (items.length) list.appendChild(ul);
    list.hidden = false;
  }
  function search() {
    var query = input.value.trim();
    var mine = ++asked;
    if (!query) { close(); return; }
    load().then(function (pagefind) { return pagefind.search(query); }).then(function (found) {
      if (mine !== asked || !found) return null;
      return Promise.all(found.results.slice(0, 8).map(function (r) { return r.data(); }));
    }).then(function (items) {
      if (items && mine === asked) show(items, query);
    }).catch(function (error) {
      if (mine !== asked) return;
      list.innerHTML = "";
      var failed = document.createElement("p");
      failed.className = "search-none";
      failed.textContent = "Search is not available for this version.";
      list.appendChild(failed);
      list.hidden = false;
      console.warn("gtmsite: search:", error);
    });
  }
  input.addEventListener("input", search);
  input.addEventListener("focus", function () { if (input.value.trim() && list.childNodes.length) list.hidden = false; });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { close(); }
    if (e.key === "Enter") {
      var first = list.querySelector("a");
      if (first && !list.hidden) { e.preventDefault(); location.href = first.href; }
    }
  });
  document.addEventListener("click", function (e) { if (!box.contains(e.target)) close(); });
})();
