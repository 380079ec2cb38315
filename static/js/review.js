// Keyboard review: j / k (or the arrow keys) move between drafts, a accepts, r rejects, e opens the
// draft in the editor. The buttons do the work, so the keys do exactly what a click does.
(function () {
  "use strict";

  var current = null;

  function items() { return Array.prototype.slice.call(document.querySelectorAll("[data-queue-item]")); }
  function waiting() { return items().filter(function (item) { return item.querySelector("[data-accept]"); }); }

  function select(item) {
    if (!item) return;
    if (current) current.classList.remove("queue-item--current");
    current = item;
    item.classList.add("queue-item--current");
    item.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var list = items();
    var index = current ? list.indexOf(current) : -1;
    if (index === -1) { select(waiting()[0] || list[0]); return; }
    select(list[Math.min(Math.max(index + step, 0), list.length - 1)]);
  }

  function press(selector) {
    if (!current || !document.body.contains(current)) { move(1); return; }
    var target = current.querySelector(selector);
    if (target) target.click();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea" || event.target.isContentEditable) return;
    switch (event.key) {
      case "j": case "ArrowDown": move(1); break;
      case "k": case "ArrowUp": move(-1); break;
      case "a": press("[data-accept]"); break;
      case "r": press("[data-reject]"); break;
      case "e": case "Enter": press("[data-editor-link]"); break;
      default: return;
    }
    event.preventDefault();
  });

  // After a decision the item is swapped for its decided state: go on to the next waiting draft.
  document.addEventListener("htmx:afterSettle", function (event) {
    var id = event.detail.target && event.detail.target.id;
    var swapped = id && document.getElementById(id);
    if (!swapped || !swapped.matches("[data-queue-item]")) return;
    var list = items();
    var index = list.indexOf(swapped);
    var next = list.slice(index + 1).find(function (item) { return item.querySelector("[data-accept]"); });
    select(next || swapped);
  });
})();
