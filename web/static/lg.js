// ixrs looking glass: the theme toggle, the live refresh of session states and counters (polling the
// JSON API every few seconds), and the sessions table's instant text filter. The pages work without
// it; it only keeps them fresh.
(function () {
  "use strict";
  var POLL_MS = 5000;

  // --- theme -------------------------------------------------------------------------------------
  function currentTheme() {
    var t = document.documentElement.getAttribute("data-theme");
    if (t) return t;
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  function showTheme(btn) {
    var dark = currentTheme() === "dark";
    btn.setAttribute("aria-pressed", dark ? "true" : "false");
    btn.textContent = dark ? "Light mode" : "Dark mode";
  }
  function setupTheme() {
    var btn = document.getElementById("theme-toggle");
    if (!btn) return;
    showTheme(btn);
    btn.addEventListener("click", function () {
      var next = currentTheme() === "dark" ? "light" : "dark";
      document.documentElement.setAttribute("data-theme", next);
      try { localStorage.setItem("ixrs-theme", next); } catch (e) { /* not remembered */ }
      showTheme(btn);
    });
    if (window.matchMedia) {
      var mq = window.matchMedia("(prefers-color-scheme: dark)");
      if (mq.addEventListener) mq.addEventListener("change", function () { showTheme(btn); });
    }
  }

  // --- formatting, as the server formats ----------------------------------------------------------
  function duration(s) {
    if (s < 0) s = 0;
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (d > 0) return d + "d " + h + "h";
    if (h > 0) return h + "h " + m + "m";
    if (m > 0) return m + "m " + sec + "s";
    return sec + "s";
  }
  function num(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  function up(state) { return state === "established"; }

  function setText(el, text) { if (el && el.textContent !== text) el.textContent = text; }

  // --- live sessions -------------------------------------------------------------------------------
  // Elements carry data-session="R_..." and data-field="state|since|ipv4-received|..."; rows carry
  // data-session too and get the class "down" when the session is not established.
  function applySessions(list) {
    var byID = {};
    list.forEach(function (s) { byID[s.id] = s; });
    document.querySelectorAll("[data-session][data-field]").forEach(function (el) {
      var s = byID[el.getAttribute("data-session")];
      if (!s) return;
      var f = el.getAttribute("data-field");
      if (f === "state") {
        setText(el, s.state);
        el.className = "badge " + (up(s.state) ? "ok" : "bad");
      } else if (f === "since") {
        setText(el, (up(s.state) ? "up " : "down ") + duration(s.uptime_seconds));
      } else if (f === "last-error") {
        setText(el, s.last_error);
      } else {
        var parts = f.split("-"), fam = parts[0], what = parts.slice(1).join("_");
        s.families.forEach(function (c) {
          if (c.family !== fam) return;
          if (what === "max_prefix_used") {
            setText(el, c.max_prefix_used.toFixed(1) + "%");
            el.className = "badge " + (c.max_prefix_used >= 90 ? "alarm" : c.max_prefix_used >= 80 ? "warn" : "ok");
          } else if (c[what] !== undefined) {
            setText(el, num(c[what]));
          }
        });
      }
    });
    document.querySelectorAll("tr[data-session]").forEach(function (tr) {
      var s = byID[tr.getAttribute("data-session")];
      if (s) tr.classList.toggle("down", !up(s.state));
    });
    var totals = { "sessions-up": 0, "sessions-down": 0, received: 0, accepted: 0, filtered: 0, exported: 0 };
    list.forEach(function (s) {
      totals[up(s.state) ? "sessions-up" : "sessions-down"]++;
      s.families.forEach(function (c) {
        totals.received += c.received; totals.accepted += c.accepted; totals.filtered += c.filtered; totals.exported += c.exported;
      });
    });
    document.querySelectorAll("[data-total]").forEach(function (el) {
      var v = totals[el.getAttribute("data-total")];
      if (v !== undefined) setText(el, num(v));
    });
  }

  function liveStatus(text) { setText(document.getElementById("live-status"), text); }

  function poll() {
    var wanted = document.querySelector("[data-session][data-field]") || document.querySelector("[data-total]");
    if (!wanted) return;
    var timer = null, last = 0;
    function tick() {
      if (document.hidden) { timer = setTimeout(tick, POLL_MS); return; }
      fetch("/api/v1/sessions", { headers: { "Accept": "application/json" }, cache: "no-store" })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
        .then(function (j) { applySessions(j.sessions || []); last = Date.now(); liveStatus("live: updated just now"); })
        .catch(function () { liveStatus("live updates paused (the route server did not answer)"); })
        .then(function () { timer = setTimeout(tick, POLL_MS); });
    }
    timer = setTimeout(tick, POLL_MS);
    setInterval(function () {
      if (last) liveStatus("live: updated " + Math.round((Date.now() - last) / 1000) + "s ago");
    }, 1000);
    liveStatus("live: updates every " + POLL_MS / 1000 + "s");
  }

  // --- instant filter of the sessions table --------------------------------------------------------
  function setupFilter() {
    var input = document.getElementById("session-filter");
    var table = document.getElementById("sessions");
    if (!input || !table) return;
    var count = document.getElementById("session-count");
    function apply() {
      var q = input.value.trim().toLowerCase(), shown = 0;
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        var hit = !q || tr.textContent.toLowerCase().indexOf(q) >= 0;
        tr.hidden = !hit;
        if (hit) shown++;
      });
      if (count) setText(count, shown + " shown");
    }
    input.addEventListener("input", apply);
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupTheme();
    setupFilter();
    poll();
  });
})();
