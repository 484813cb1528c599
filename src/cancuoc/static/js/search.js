/* Citizen search as you type. Without this script the form still submits normally.
   Plain ES5 so that the old office PCs run it. */
(function () {
  "use strict";
  var input = document.getElementById("q");
  var area = document.getElementById("results-area");
  if (!input || !area || !window.XMLHttpRequest) { return; }
  var form = input.form;
  var unit = document.getElementById("unit");
  var timer = null;
  var pending = null;
  var lastQuery = null;

  function params() {
    var parts = ["q=" + encodeURIComponent(input.value.replace(/^\s+|\s+$/g, ""))];
    if (unit && unit.value) { parts.push("unit=" + encodeURIComponent(unit.value)); }
    return parts.join("&");
  }

  function run() {
    var query = params();
    if (query === lastQuery) { return; }
    lastQuery = query;
    // Only the newest request may paint: abort the one still on its way.
    if (pending) { pending.abort(); }
    var xhr = new XMLHttpRequest();
    pending = xhr;
    xhr.open("GET", form.action + "?" + query + "&partial=1");
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.onload = function () {
      if (pending !== xhr) { return; }
      pending = null;
      if (xhr.status === 200) {
        area.innerHTML = xhr.responseText;
        if (window.history && window.history.replaceState) {
          window.history.replaceState(null, "", "?" + query);
        }
      }
    };
    xhr.send();
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    var text = input.value.replace(/^\s+|\s+$/g, "");
    // One letter matches half the province: wait for a second one.
    if (text.length === 1) { return; }
    timer = window.setTimeout(run, 250);
  });
  if (unit) { unit.addEventListener("change", run); }
}());
