// pressluft dashboard: progressive enhancement only. Without this script
// every page works: commands stay selectable text and pages in progress
// carry a <noscript> meta refresh.
(function () {
  "use strict";

  // Copy buttons next to every command.
  function addCopyButtons(root) {
    root.querySelectorAll("code[data-command]").forEach(function (code) {
      if (code.nextElementSibling && code.nextElementSibling.classList.contains("copy")) return;
      var b = document.createElement("button");
      b.type = "button";
      b.className = "copy";
      b.textContent = "Copy";
      b.setAttribute("aria-label", "Copy command: " + code.textContent);
      b.addEventListener("click", function () {
        var done = function () { b.textContent = "Copied"; setTimeout(function () { b.textContent = "Copy"; }, 1500); };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(code.textContent).then(done, function () { select(code); });
        } else {
          select(code);
          try { if (document.execCommand("copy")) done(); } catch (e) { /* selected; the operator copies */ }
        }
      });
      code.insertAdjacentElement("afterend", b);
    });
  }

  function select(el) {
    var r = document.createRange();
    r.selectNodeContents(el);
    var s = window.getSelection();
    s.removeAllRanges();
    s.addRange(r);
  }

  // Clock offset: the server's render time minus this browser's clock
  // when the page arrived, so "… ago" follows the server's clock.
  var offset = 0;
  function setOffset(main) {
    var t = Date.parse(main.getAttribute("data-now") || "");
    if (!isNaN(t)) offset = t - Date.now();
  }

  // ago is the server's "… ago" (dashboard.go), from a time in ms.
  function ago(t) {
    var s = Math.round((Date.now() + offset - t) / 1000);
    if (s < 2) return "just now";
    if (s < 60) return s + "s ago";
    if (s < 3600) return Math.floor(s / 60) + "m ago";
    if (s < 48 * 3600) return Math.floor(s / 3600) + "h ago";
    return Math.floor(s / 86400) + "d ago";
  }

  // Keep every "… ago" true, whether or not the page still polls.
  function refreshTimes() {
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(t) && /ago$|^just now$/.test(el.textContent.trim())) el.textContent = ago(t);
    });
  }

  // Say on the page when updates stop, and since when; clear it when the
  // control plane answers again.
  var stoppedSince = null;
  function setStopped(main, stopped) {
    var p = main.querySelector("[data-autorefresh]");
    if (!p) return;
    if (!stopped) {
      stoppedSince = null;
      return;
    }
    if (!stoppedSince) stoppedSince = new Date();
    p.setAttribute("data-stopped", stoppedSince.toISOString());
    p.textContent = "Updates stopped at " + stoppedSince.toLocaleTimeString() +
      ": the control plane is not answering, so what this page shows may be out of date. Still trying.";
  }

  // pollValue must match data-poll-value as the server renders it.
  function pollValue(item) {
    if (item.job_type !== undefined) return item.status;
    return [item.state, item.lifecycle, item.primary_reason || ""].join(" ");
  }

  function changed(main, json) {
    var items = Array.isArray(json) ? json : [json];
    var shown = {};
    var n = 0;
    main.querySelectorAll("[data-poll-key]").forEach(function (el) {
      shown[el.getAttribute("data-poll-key")] = el.getAttribute("data-poll-value").trim();
      n++;
    });
    if (Array.isArray(json) && items.length !== n) return true;
    return items.some(function (it) { return shown[it.id] !== pollValue(it).trim(); });
  }

  // Re-render main from the server, keeping open <details> open.
  function reload(main) {
    var open = [];
    main.querySelectorAll("details[open]").forEach(function (d) {
      var row = d.closest("[data-node-id]");
      if (row) open.push(row.getAttribute("data-node-id"));
    });
    return fetch(location.pathname + location.search, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("status " + r.status); return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("main");
        if (!fresh) throw new Error("no main");
        open.forEach(function (id) {
          var d = fresh.querySelector('[data-node-id="' + CSS.escape(id) + '"] details');
          if (d) d.open = true;
        });
        main.replaceWith(fresh);
        document.title = doc.title;
        addCopyButtons(fresh);
        var live = document.getElementById("live");
        if (live) live.textContent = "Updated at " + new Date().toLocaleTimeString();
        return fresh;
      });
  }

  function poll(main) {
    var path = main.getAttribute("data-poll");
    var secs = parseInt(main.getAttribute("data-refresh"), 10) || 2;
    if (!path) return;
    var hint = main.querySelector("[data-autorefresh] a");
    if (hint) hint.remove();
    setTimeout(function tick() {
      fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error("status " + r.status); return r.json(); })
        .then(function (json) {
          var was = stoppedSince;
          setStopped(main, false);
          return changed(main, json) || was ? reload(main) : main;
        })
        .then(function (m) {
          main = m;
          setOffset(main);
          refreshTimes();
          if (main.getAttribute("data-poll")) setTimeout(tick, secs * 1000);
          else poll(main); // settled: nothing more to poll
        })
        .catch(function () {
          setStopped(main, true);
          setTimeout(tick, secs * 3000);
        });
    }, secs * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var main = document.getElementById("main");
    addCopyButtons(document);
    if (main) setOffset(main);
    refreshTimes();
    setInterval(refreshTimes, 5000);
    if (main) poll(main);
  });
})();
