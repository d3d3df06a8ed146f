// rssmania: the keyboard, live updates, local dates. Everything else is htmx and plain forms.
"use strict";
(function () {
  const reader = document.querySelector(".reader");

  let currentId = null;  // survives the row being swapped for its new state
  function rows() { return Array.from(document.querySelectorAll("#entries .entry")); }
  function current() { return document.querySelector("#entries .entry.current"); }

  function select(row, open) {
    if (!row) return;
    const was = current();
    if (was) was.classList.remove("current");
    row.classList.add("current");
    currentId = row.id;
    row.scrollIntoView({ block: "nearest" });
    if (open) row.querySelector(".open").click();
  }

  function step(delta) {
    const all = rows();
    const at = all.indexOf(current());
    const next = all[Math.min(all.length - 1, Math.max(0, at + delta))];
    if (next && next !== all[at]) select(next, true);
    else if (delta > 0) {
      const more = document.querySelector("#more button");
      if (more) more.click();
    }
  }

  function closeArticle() {
    const pane = document.getElementById("article");
    if (pane && pane.querySelector("article")) {
      pane.innerHTML = "";
      const row = current();
      if (row) row.scrollIntoView({ block: "nearest" });
    }
  }

  function press(selector) {
    const button = document.querySelector(selector);
    if (button) button.click();
  }

  function localDates(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      const date = new Date(t.getAttribute("datetime"));
      if (!isNaN(date)) t.textContent = date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    });
  }

  let prefix = "";
  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.matches && target.matches("input, textarea, select")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    if (event.key === "Escape") {  // on a phone: back from the feeds, back from an article
      const side = document.getElementById("side");
      if (side && side.classList.contains("open")) side.classList.remove("open");
      else closeArticle();
      return;
    }
    const key = event.key;
    if (prefix === "g") {
      prefix = "";
      const to = { u: "/?show=unread", s: "/?show=starred", f: "/feeds" }[key];
      if (to) { event.preventDefault(); window.location.assign(to); }
      return;
    }
    const keys = document.getElementById("keys");
    switch (key) {
      case "j": step(1); break;
      case "k": step(-1); break;
      case "o": case "Enter": if (current()) select(current(), true); else step(1); break;
      case "v": {
        const link = document.getElementById("original");
        if (link) window.open(link.href, "_blank", "noopener,noreferrer");
        break;
      }
      case "m": press("#toggle-read"); break;
      case "s": press("#toggle-star"); break;
      case "A": press("#mark-view button"); break;
      case "/": event.preventDefault(); { const q = document.getElementById("q"); if (q) q.focus(); } break;
      case "r": window.location.reload(); break;
      case "g": prefix = "g"; break;
      case "?": if (keys) { if (keys.open) keys.close(); else keys.showModal(); } break;
      default: return;
    }
  });

  document.addEventListener("click", function (event) {
    const open = event.target.closest && event.target.closest("#entries .entry .open");
    if (open) {
      const row = open.closest(".entry");
      const was = current();
      if (was && was !== row) was.classList.remove("current");
      row.classList.add("current");
      currentId = row.id;
    }
    if (event.target.closest && event.target.closest(".menu, .side .close")) {
      document.getElementById("side").classList.toggle("open");
    }
    if (event.target.closest && event.target.closest("article .back")) closeArticle();
  });

  function post(url, body) {
    body.set("csrf", document.body.dataset.csrf || "");
    return fetch(url, { method: "POST", body: body, credentials: "same-origin" });
  }

  // Mark above read: the rows before the current one, with an undo in the toast.
  document.addEventListener("click", function (event) {
    if (!(event.target.closest && event.target.closest(".mark-above"))) return;
    const all = rows();
    const at = all.indexOf(current());
    const above = all.slice(0, Math.max(0, at)).filter(function (r) { return !r.classList.contains("read"); });
    if (!above.length) return;
    const body = new URLSearchParams();
    body.set("ids", above.map(function (r) { return r.dataset.id; }).join(","));
    post("/mark-ids-read?" + (reader ? reader.dataset.view : ""), body).then(function (response) { return response.text(); }).then(function (html) {
      above.forEach(function (r) { r.classList.add("read"); });
      const toast = document.getElementById("toast");
      toast.innerHTML = html;
      if (window.htmx) window.htmx.process(toast);
    });
  });

  // Mark read on scroll (a choice kept in this browser): rows scrolled past the top.
  const scrollBox = document.getElementById("read-on-scroll");
  if (scrollBox && window.IntersectionObserver) {
    scrollBox.checked = localStorage.getItem("rssmania.readOnScroll") === "1";
    scrollBox.addEventListener("change", function () {
      localStorage.setItem("rssmania.readOnScroll", scrollBox.checked ? "1" : "0");
    });
    const pending = new Set();
    let timer = null;
    const observer = new IntersectionObserver(function (seen) {
      if (!scrollBox.checked) return;
      seen.forEach(function (item) {
        const row = item.target;
        if (!item.isIntersecting && item.boundingClientRect.bottom < item.rootBounds.top + 1 && !row.classList.contains("read")) {
          row.classList.add("read");
          pending.add(row.dataset.id);
        }
      });
      if (pending.size && !timer) {
        timer = setTimeout(function () {
          const body = new URLSearchParams();
          body.set("ids", Array.from(pending).join(","));
          body.set("quiet", "1");
          pending.clear();
          timer = null;
          post("/mark-ids-read", body);
        }, 800);
      }
    }, { root: document.getElementById("main") });
    const watch = function () { rows().forEach(function (r) { observer.observe(r); }); };
    watch();
    document.addEventListener("htmx:afterSettle", watch);
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    localDates(event.target);
    const row = currentId && document.getElementById(currentId);
    if (row) row.classList.add("current");
  });
  localDates(document);

  if (reader && window.EventSource) {
    const live = document.getElementById("live");
    const progress = document.getElementById("progress");
    const source = new EventSource("/events?since=" + encodeURIComponent(reader.dataset.seen || "0"));
    source.addEventListener("new", function (event) {
      const count = JSON.parse(event.data).count;
      if (count > 0) {
        live.hidden = false;
        live.querySelector("a").textContent = count + " new — show";
      }
    });
    source.addEventListener("progress", function (event) {
      const p = JSON.parse(event.data);
      if (p.finished) { progress.hidden = true; return; }
      progress.hidden = false;
      progress.textContent = "Polling: " + p.done + " of " + p.total + " feeds, " + p.in_flight + " in flight";
    });
  }
})();
