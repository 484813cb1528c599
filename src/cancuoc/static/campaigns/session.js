/* New session: show the capacity as the times and sets change
   (sets × open minutes ÷ minutes per citizen; the server computes the real figure). */
(function () {
  "use strict";
  var form = document.getElementById("session-form");
  if (!form) { return; }
  var minutes = parseFloat(form.getAttribute("data-service-minutes")) || 6;
  var out = document.getElementById("capacity-preview");
  var vi = (document.documentElement.lang || "vi").indexOf("vi") === 0;
  function mins(value) {
    var parts = (value || "").split(":");
    return parts.length < 2 ? NaN : parseInt(parts[0], 10) * 60 + parseInt(parts[1], 10);
  }
  function update() {
    var open = mins(form.querySelector("[name=end_time]").value) - mins(form.querySelector("[name=start_time]").value);
    var sets = parseInt(form.querySelector("[name=sets]").value, 10);
    if (isNaN(open) || open <= 0 || isNaN(sets) || sets <= 0) { out.textContent = ""; return; }
    var capacity = Math.floor(sets * open / minutes);
    out.textContent = (vi ? "Công suất dự kiến: " : "Expected capacity: ") + capacity + (vi ? " người" : " citizens");
  }
  form.addEventListener("input", update);
  update();
})();
