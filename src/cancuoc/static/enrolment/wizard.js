/* Enrolment wizard: single-key shortcuts, device capture sequences with live progress,
   the step timer. Everything here is optional: without it every button is a plain form
   post and the server runs the same capture sequence. */
(function () {
  "use strict";

  var busy = false;

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function labels() {
    var el = document.getElementById("wiz-labels");
    return el ? el.dataset : {};
  }

  function tileItem(tile) {
    return {
      tile: tile,
      kind: tile.getAttribute("data-kind"),
      position: tile.getAttribute("data-position") || "",
      attempt: parseInt(tile.getAttribute("data-next-attempt") || "1", 10),
      limit: parseInt(tile.getAttribute("data-limit") || "1", 10),
    };
  }

  function show(tile, result) {
    var text = labels();
    var state = result.ok ? result.state : "error";
    tile.setAttribute("data-state", state);
    var q = tile.querySelector(".q");
    if (q && result.ok && result.quality !== null && result.quality !== undefined) {
      var threshold = tile.getAttribute("data-threshold");
      q.textContent = result.quality + (threshold ? " / " + threshold : "");
      var bar = tile.querySelector(".bar span");
      if (bar) bar.style.width = Math.min(100, result.quality) + "%";
    }
    var st = tile.querySelector(".st");
    if (st) st.textContent = result.ok ? (text[state] || state) : result.error;
    if (result.ok) {
      tile.setAttribute("data-next-attempt", String(result.next_attempt));
      var att = tile.querySelector(".att");
      if (att) att.textContent = String(result.attempt);
    }
  }

  function ask(url, csrf, item) {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", csrf);
    body.append("kind", item.kind);
    body.append("position", item.position);
    body.append("attempt", String(item.attempt));
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-Requested-With": "fetch" },
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  async function run(form, items) {
    var stuck = "";
    if (busy) return;
    busy = true;
    document.body.setAttribute("data-busy", "1");
    var live = document.getElementById("live");
    var url = form.getAttribute("action");
    var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
    var text = labels();
    try {
      for (var i = 0; i < items.length; i++) {
        var item = items[i];
        for (var n = 0; n < item.limit; n++) {
          item.tile.setAttribute("data-state", "busy");
          if (live) live.textContent = (text.busy || "…") + " " + item.tile.getAttribute("data-label");
          var data = await ask(url, csrf, item);
          var result = data.results[0];
          show(item.tile, result);
          if (!stuck && item.kind === "rolled" && (!result.ok || result.state === "exception")) {
            stuck = item.position;
          }
          if (!result.ok || result.state !== "retry") break;
          item.attempt = result.next_attempt;
        }
      }
    } catch (error) {
      // A lost connection: the server keeps whatever was recorded; the page reloads
      // and shows it, so the operator carries on from there.
      if (live) live.textContent = String(error);
    }
    // The page as the server sees it now; a finger that needs an exception opens its form.
    window.location.replace(window.location.pathname + (stuck ? "?exception=" + stuck : ""));
  }

  function pending(group) {
    var tiles = document.querySelectorAll('[data-group="' + group + '"] [data-tile]');
    var items = [];
    Array.prototype.forEach.call(tiles, function (tile) {
      var state = tile.getAttribute("data-state");
      if (state === "pending" || state === "retry" || state === "error") items.push(tileItem(tile));
    });
    return items;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!window.fetch) return;
    if (form.hasAttribute("data-sequence")) {
      event.preventDefault();
      run(form, pending(form.getAttribute("data-sequence")));
    } else if (form.hasAttribute("data-capture-one")) {
      event.preventDefault();
      var tile = form.closest("[data-tile]");
      var item = tileItem(tile);
      item.limit = 1;
      run(form, [item]);
    } else if (form.hasAttribute("data-once")) {
      if (form.getAttribute("data-sent") === "1") { event.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
    }
  });

  // Single-key shortcuts, shown on the buttons as <kbd>: only when the operator is not
  // typing in a field, and never with a modifier (the browser's own keys stay intact).
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target) || busy) return;
    var key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    var target = document.querySelector('[data-key="' + key + '"]');
    if (!target) return;
    event.preventDefault();
    if (target.tagName === "DETAILS") {
      target.open = true;
      var field = target.querySelector("input:not([type=hidden]), select, textarea");
      if (field) field.focus();
    } else {
      target.click();
    }
  });

  function tick(el) {
    var start = Date.now() - parseInt(el.getAttribute("data-elapsed") || "0", 10) * 1000;
    var norm = parseInt(el.getAttribute("data-norm") || "360", 10);
    var out = el.querySelector("span");
    function draw() {
      var s = Math.floor((Date.now() - start) / 1000);
      var text = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
      out.textContent = text;
      el.classList.toggle("over", s > norm);
    }
    draw();
    if (el.getAttribute("data-running") === "1") setInterval(draw, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var timer = document.querySelector("[data-timer]");
    if (timer) tick(timer);
    // An open panel (a correction, an exception) takes the focus unless the page already
    // put it on one of its fields.
    var open = document.querySelector("details[data-open-focus][open]");
    if (open && !open.contains(document.activeElement)) {
      var field = open.querySelector("input:not([type=hidden]), select, textarea");
      if (field) field.focus();
    }
  });
})();
