/* Import progress: poll the job's JSON once a second until it is finished.
   Plain ES5 so it runs on old office browsers; the page works without it (reload). */
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box || box.getAttribute("data-finished") === "1") { return; }
  var url = box.getAttribute("data-url");

  function show(data) {
    document.getElementById("import-bar").value = data.percent;
    document.getElementById("import-percent").textContent = data.percent;
    document.getElementById("import-status").textContent = data.status_label;
    var counts = box.querySelectorAll("[data-count]");
    for (var i = 0; i < counts.length; i++) {
      var key = counts[i].getAttribute("data-count");
      counts[i].textContent = data[key];
    }
    var error = document.getElementById("import-error");
    error.textContent = data.error || "";
    error.hidden = !data.error;
    document.getElementById("import-summary").hidden = data.status !== "done";
    document.getElementById("import-report").hidden = !(data.status === "done" && data.rejected > 0);
  }

  function poll() {
    var request = new XMLHttpRequest();
    request.open("GET", url);
    request.setRequestHeader("Accept", "application/json");
    request.onload = function () {
      if (request.status === 200) {
        var data = JSON.parse(request.responseText);
        show(data);
        if (data.finished) { box.setAttribute("data-finished", "1"); return; }
      }
      window.setTimeout(poll, 1000);
    };
    request.onerror = function () { window.setTimeout(poll, 3000); };
    request.send();
  }
  poll();
})();
