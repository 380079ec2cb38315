// "Tick every product on this page": a convenience; ticking one by one works without it.
(function () {
  "use strict";
  function setUp(root) {
    var all = root.querySelector("[data-select-page]");
    if (!all) return;
    all.hidden = false;
    var boxes = function () { return document.querySelectorAll('input[name="product"][form="bulk-form"]'); };
    all.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = all.checked; });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  document.addEventListener("htmx:load", function (event) { setUp(event.detail.elt); });
})();
