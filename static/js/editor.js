// The draft editor's small helpers: live character counts against the channel's limits, and
// unsaved edits that survive a reload (kept in this browser until saved, accepted or discarded).
// Without this script every form still works; only these conveniences are lost.
(function () {
  "use strict";

  var PREFIX = "copilot:draft:";
  var submitting = false;

  function storageKey(textarea) { return PREFIX + textarea.dataset.draft; }

  function read(textarea) {
    try { return JSON.parse(localStorage.getItem(storageKey(textarea)) || "null"); }
    catch (e) { return null; }
  }

  function write(textarea) {
    var form = textarea.form;
    var version = form.querySelector('input[name="version"]').value;
    try { localStorage.setItem(storageKey(textarea), JSON.stringify({ version: version, text: textarea.value })); }
    catch (e) { /* storage full or disabled: the warning before leaving still protects the text */ }
  }

  function forget(draftId) {
    try { localStorage.removeItem(PREFIX + draftId); } catch (e) { /* nothing kept */ }
  }

  function isDirty(textarea) {
    return textarea.hasAttribute("data-unsaved") || textarea.value !== textarea.defaultValue;
  }

  // Characters as Python counts them (code points), so the page agrees with the server's check.
  function length(text) { return Array.from(text).length; }

  function updateCount(textarea) {
    var output = document.getElementById("count-" + textarea.dataset.draft);
    if (!output) return;
    var count = output.querySelector("[data-count]");
    var text = textarea.value.replace(/\r\n/g, "\n").trim();
    if (count) count.textContent = String(length(text));
    var over = false;
    var maxChars = parseInt(textarea.dataset.maxChars || "0", 10);
    if (maxChars && length(text) > maxChars) over = true;
    var maxItem = parseInt(textarea.dataset.maxItemChars || "0", 10);
    var longItems = 0;
    if (maxItem) {
      text.split(/[\n,，、;；]/).forEach(function (item) { if (length(item.trim()) > maxItem) longItems += 1; });
    }
    var items = output.querySelector("[data-long-items]");
    if (items) {
      items.hidden = longItems === 0;
      var n = items.querySelector("[data-long-count]");
      if (n) n.textContent = String(longItems);
    }
    output.classList.toggle("char-count--over", over || longItems > 0);
    var warning = output.querySelector("[data-over]");
    if (warning) warning.hidden = !over;
  }

  function setUp(textarea) {
    if (textarea.dataset.ready) return;
    textarea.dataset.ready = "1";
    var form = textarea.form;
    var versionInput = form.querySelector('input[name="version"]');
    var note = form.querySelector(".restored");
    var stored = read(textarea);
    if (textarea.hasAttribute("data-unsaved")) {
      write(textarea);  // text sent back after a conflict or a refusal: still not saved
    } else if (stored && stored.text !== textarea.value) {
      textarea.value = stored.text;
      // The version the edit was based on: if someone saved since, saving shows the conflict.
      versionInput.value = stored.version;
      textarea.setAttribute("data-unsaved", "");
      if (note) note.hidden = false;
    } else if (stored) {
      forget(textarea.dataset.draft);
    }
    textarea.addEventListener("input", function () {
      if (textarea.value === textarea.defaultValue && versionInput.value === textarea.dataset.version) {
        forget(textarea.dataset.draft);
      } else {
        write(textarea);
      }
      updateCount(textarea);
    });
    var discard = note && note.querySelector("[data-discard]");
    if (discard) {
      discard.addEventListener("click", function () {
        forget(textarea.dataset.draft);
        textarea.value = textarea.defaultValue;
        versionInput.value = textarea.dataset.version;
        textarea.removeAttribute("data-unsaved");
        note.hidden = true;
        updateCount(textarea);
      });
    }
    updateCount(textarea);
  }

  function setUpAll(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("textarea[data-draft]").forEach(setUp);
  }

  document.addEventListener("DOMContentLoaded", function () { setUpAll(document); });
  document.addEventListener("htmx:load", function (event) { setUpAll(event.detail.elt); });

  // A saved, accepted or rejected draft no longer needs its kept copy.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status !== 200) return;
    var form = event.detail.requestConfig.elt.closest("form");
    var textarea = form && form.querySelector("textarea[data-draft]");
    if (textarea) forget(textarea.dataset.draft);
  });

  // A swapped card loses the focused button: put focus on the card's heading so keyboard and
  // screen-reader users land on the outcome (accepted, conflict, error) instead of the page top.
  document.addEventListener("htmx:afterSettle", function (event) {
    var id = event.detail.target && event.detail.target.id;
    if (!id || id.indexOf("field-card-") !== 0) return;
    var card = document.getElementById(id);
    var heading = card && card.querySelector("h2");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-discard-draft]");
    if (link) forget(link.dataset.discardDraft);
  });

  document.addEventListener("submit", function () { submitting = true; });

  window.addEventListener("beforeunload", function (event) {
    if (submitting) return;
    var dirty = Array.prototype.some.call(document.querySelectorAll("textarea[data-draft]"), isDirty);
    if (dirty) {
      event.preventDefault();
      event.returnValue = "";  // the browser shows its own "leave the page?" question
    }
  });
})();
