// The yield form computes as the agent types: the kit runs the server's own rule (POST .../preview) and shows
// kg/亩 at standard moisture, the gain and any refusal. Without this file the form still saves and refuses.
(function () {
  "use strict";
  document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
  var form = document.getElementById("yield-form");
  if (!form) { return; }
  var en = form.dataset.lang === "en";
  var value = document.getElementById("yield-value");
  var gain = document.getElementById("yield-gain");
  var problems = document.getElementById("yield-problems");
  var timer = null, asked = 0;

  function render(data) {
    value.textContent = data.ok && data.yield_kg_per_mu != null ? data.yield_kg_per_mu.toFixed(1) : "—";
    gain.textContent = data.ok && data.gain_pct != null
      ? (en ? "gain " : "增产 ") + (data.gain_pct >= 0 ? "+" : "") + data.gain_pct.toFixed(1) + "%" : "";
    var messages = [];
    Object.keys(data.errors || {}).forEach(function (k) { messages = messages.concat(data.errors[k]); });
    problems.textContent = messages.join(en ? "; " : "；");
    form.classList.toggle("has-problems", messages.length > 0);
  }

  function preview() {
    var mine = ++asked;
    fetch(form.dataset.preview, {method: "POST", body: new FormData(form), credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) { if (mine === asked) { render(data); } })
      .catch(function () { /* the local server is this device: nothing to retry */ });
  }

  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(preview, 200); });
  form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(preview, 50); });

  var add = document.getElementById("add-row");
  if (add) {
    add.addEventListener("click", function () {
      var body = document.querySelector("#samples tbody");
      var rows = body.querySelectorAll("tr");
      var n = rows.length;
      var row = rows[n - 1].cloneNode(true);
      row.querySelector("td").textContent = String(n + 1);
      row.querySelectorAll("input").forEach(function (el) {
        el.name = el.name.replace(/^s\d+_/, "s" + n + "_");
        el.value = "";
      });
      body.appendChild(row);
      row.querySelector("input").focus();
    });
  }
  preview();
})();
