/* One-stop desk: small helpers for the receipt form. The form works without them. */
(function () {
  "use strict";

  function money(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".") + " đ";
  }

  function showProcedure(select, info, spotBox) {
    var option = select.options[select.selectedIndex];
    if (!option || !option.value) {
      info.textContent = "";
      if (spotBox) spotBox.hidden = true;
      return;
    }
    var fee = parseInt(option.getAttribute("data-fee") || "0", 10);
    var text = info.getAttribute("data-tpl")
      .replace("{days}", option.getAttribute("data-days"))
      .replace("{fee}", fee > 0 ? money(fee) : info.getAttribute("data-free"));
    var spot = option.getAttribute("data-spot") === "1";
    if (spot) text += " " + info.getAttribute("data-spot");
    info.textContent = text;
    if (spotBox) {
      spotBox.hidden = !spot;
      if (!spot) spotBox.querySelector("input").checked = false;
    }
  }

  function showDelivery(method, box) {
    box.hidden = method.value !== "post";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("id_procedure_code");
    var info = document.getElementById("proc-info");
    if (select && info) {
      var spotBox = document.getElementById("spot-box");
      select.addEventListener("change", function () { showProcedure(select, info, spotBox); });
      showProcedure(select, info, spotBox);
    }
    var method = document.getElementById("id_return_method");
    var box = document.getElementById("delivery-box");
    if (method && box) {
      method.addEventListener("change", function () { showDelivery(method, box); });
      showDelivery(method, box);
    }
    // A second click on a submit button while the first request is on its way would
    // send the form twice; the server refuses it anyway, this only spares the round trip.
    var forms = document.querySelectorAll("form[data-once], #receive-form");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-sent") === "1") { event.preventDefault(); return; }
        var submitter = event.submitter;
        if (submitter && submitter.value === "lookup") return;
        form.setAttribute("data-sent", "1");
      });
    });
  });
})();
