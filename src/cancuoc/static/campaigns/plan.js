/* Campaign plan: the live sum of the allocation editor, and clicking a calendar day fills
   the day form. Plain ES5, no library; the page works without it (the server checks). */
(function () {
  "use strict";
  var form = document.getElementById("allocation-form");
  if (form && form.querySelector("input.alloc")) {
    var target = parseInt(form.getAttribute("data-target"), 10) || 0;
    var out = document.getElementById("allocation-sum");
    var gap = document.getElementById("allocation-gap");
    var save = document.getElementById("save-allocations");
    var lang = document.documentElement.lang || "vi";
    var group = lang.indexOf("vi") === 0 ? "." : ",";
    var fmt = function (n) {
      var s = String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, group);
      return (n < 0 ? "-" : "") + s;
    };
    var texts = {
      vi: { left: "Còn thiếu {n} so với chỉ tiêu.", over: "Vượt chỉ tiêu {n}.", ok: "Đã khớp chỉ tiêu." },
      en: { left: "{n} left to allocate.", over: "{n} over the target.", ok: "The shares sum to the target." }
    };
    var t = texts[lang.indexOf("vi") === 0 ? "vi" : "en"];
    var update = function () {
      var inputs = form.querySelectorAll("input.alloc");
      var sum = 0;
      for (var i = 0; i < inputs.length; i++) {
        var v = parseInt(inputs[i].value, 10);
        if (!isNaN(v)) { sum += v; }
      }
      out.textContent = fmt(sum);
      out.setAttribute("data-sum", String(sum));
      var diff = target - sum;
      gap.textContent = diff === 0 ? t.ok : (diff > 0 ? t.left : t.over).replace("{n}", fmt(Math.abs(diff)));
      gap.className = "gap " + (diff === 0 ? "ok" : "bad");
      if (save) { save.disabled = diff !== 0; }
    };
    form.addEventListener("input", update);
    update();
  }
  var dayForm = document.getElementById("day-form");
  if (dayForm) {
    var cells = document.querySelectorAll(".month td[data-day]");
    for (var j = 0; j < cells.length; j++) {
      cells[j].addEventListener("click", function () {
        dayForm.querySelector("[name=day]").value = this.getAttribute("data-day");
        dayForm.querySelector("[name=is_open]").value = this.className.indexOf("closed") >= 0 ? "1" : "0";
        dayForm.querySelector("[name=note]").focus();
      });
    }
  }
})();
