// rectify: small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Review page: clicking an item in the side list scrolls its span into view and marks it.
  function focusItem(index) {
    document.querySelectorAll("mark.focus").forEach(function (m) { m.classList.remove("focus"); });
    var marks = document.querySelectorAll('mark[data-item="' + index + '"]');
    marks.forEach(function (m) { m.classList.add("focus"); });
    if (marks.length) { marks[0].scrollIntoView({ block: "center" }); }
  }
  document.addEventListener("click", function (ev) {
    var jump = ev.target.closest("[data-jump]");
    if (jump) { ev.preventDefault(); focusItem(jump.getAttribute("data-jump")); }
    var mark = ev.target.closest("mark[data-item]");
    if (mark) {
      var card = document.getElementById("item-card-" + mark.getAttribute("data-item"));
      if (card) { card.scrollIntoView({ block: "nearest" }); }
      focusItem(mark.getAttribute("data-item"));
    }
  });

  // Ledger: a header checkbox selects every row on the page.
  document.addEventListener("change", function (ev) {
    if (ev.target.matches("[data-select-all]")) {
      var name = ev.target.getAttribute("data-select-all");
      document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
        box.checked = ev.target.checked;
      });
    }
  });

  // Panels open for desks (the ledger's filters) fold on a phone-sized screen; without script they stay as served.
  if (window.matchMedia && window.matchMedia("(max-width: 600px)").matches) {
    document.querySelectorAll("details[data-fold-narrow][open]").forEach(function (d) { d.open = false; });
  }

  // Buttons that need a second thought.
  document.addEventListener("submit", function (ev) {
    var button = ev.submitter;
    var question = (button && button.getAttribute("data-confirm")) || ev.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { ev.preventDefault(); }
  });
})();
