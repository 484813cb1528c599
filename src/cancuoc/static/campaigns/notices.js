/* Notice batch progress: poll the job's JSON every second until it is finished.
   Plain ES5; without it the page still works (reload). */
(function () {
  "use strict";
  var box = document.getElementById("notice-progress");
  if (!box || box.getAttribute("data-finished") === "1") { return; }
  var url = box.getAttribute("data-url");
  function show(data) {
    document.getElementById("notice-bar").value = data.percent;
    document.getElementById("notice-percent").textContent = data.percent;
    document.getElementById("notice-done").textContent = data.done;
    document.getElementById("notice-total").textContent = data.total;
    document.getElementById("notice-status").textContent = data.status_label;
    var error = document.getElementById("notice-error");
    error.textContent = data.error || "";
    error.hidden = !data.error;
    var download = document.getElementById("notice-download");
    if (data.download) {
      document.getElementById("notice-pdf").setAttribute("href", data.download);
      download.hidden = false;
    }
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
