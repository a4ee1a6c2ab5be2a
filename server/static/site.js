// Conveniences only: every page works without this file.
(function () {
  "use strict";
  // On a phone the filter panel starts folded, so the results come first.
  var narrow = window.matchMedia("(max-width: 879px)");
  document.querySelectorAll("details[data-collapse-narrow]").forEach(function (panel) {
    var active = panel.querySelector(".facet-value.is-selected");
    if (narrow.matches && !active) { panel.removeAttribute("open"); }
  });
  // "/" jumps to the search box, as on many search pages.
  document.addEventListener("keydown", function (event) {
    var box = document.getElementById("q");
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);
    if (box && event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });
})();
