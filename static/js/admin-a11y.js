// Accessible names for the fields Django admin renders without one (WCAG 4.1.2, 1.3.1):
// - the inputs of list_editable columns and of tabular inlines, whose only
//   label is the column header: each is named "<column>, <row>";
// - select2's autocomplete box, named by the field's own <label>;
// - the filter_horizontal search icon, an aria-label on a plain <span>: an image.
// Admin needs scripts anyway (actions, inlines, select2); without them the
// column headers still say what each input is.
(function () {
  "use strict";

  function hasName(field) {
    if (field.getAttribute("aria-label") || field.getAttribute("aria-labelledby") || field.closest("label")) {
      return true;
    }
    return Boolean(field.id && document.querySelector('label[for="' + CSS.escape(field.id) + '"]'));
  }

  function text(element) {
    return element ? element.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function columnName(table, cell) {
    var field = Array.prototype.find.call(cell.classList, function (name) {
      return name.indexOf("field-") === 0;
    });
    if (field) {
      return text(table.querySelector("thead th.column-" + CSS.escape(field.slice("field-".length))));
    }
    return cell.classList.contains("delete") ? "Delete" : "";
  }

  function rowName(row, index) {
    // The changelist's first column is a <th>; an inline's row shows its object in td.original.
    return text(row.querySelector("th")) || text(row.querySelector("td.original p")) || "new row " + (index + 1);
  }

  function nameTableFields() {
    document.querySelectorAll("#result_list, .tabular table").forEach(function (table) {
      table.querySelectorAll("tbody tr").forEach(function (row, index) {
        row.querySelectorAll("td input:not([type=hidden]), td select, td textarea").forEach(function (field) {
          var column = hasName(field) ? "" : columnName(table, field.closest("td"));
          if (column) {
            field.setAttribute("aria-label", column + ", " + rowName(row, index));
          }
        });
      });
    });
  }

  function nameComboboxes() {
    document.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var label = select.id && document.querySelector('label[for="' + CSS.escape(select.id) + '"]');
      var container = select.nextElementSibling;
      var box = container && container.querySelector('[role="combobox"]');
      if (!box || !(label || select.getAttribute("aria-label"))) {
        return;
      }
      // Named by the field's label (or, in a table, the name nameTableFields gave the
      // select), then by select2's own text of the chosen option, as it reads now.
      var first = label;
      if (!label) {
        box.id = box.id || select.id + "-combobox";
        box.setAttribute("aria-label", select.getAttribute("aria-label"));
        first = box;
      }
      first.id = first.id || select.id + "-label";
      var names = (box.getAttribute("aria-labelledby") || "").split(" ").filter(Boolean);
      if (names.indexOf(first.id) < 0) {
        box.setAttribute("aria-labelledby", [first.id].concat(names).join(" "));
      }
      // select2 shows the chosen option in a read-only "textbox" of its own: it gets the same name.
      var shown = box.querySelector('[role="textbox"]');
      if (shown && !shown.getAttribute("aria-label") && !shown.getAttribute("aria-labelledby")) {
        shown.setAttribute("aria-labelledby", first.id);
      }
    });
  }

  function nameIcons() {
    document.querySelectorAll("span.search-label-icon[aria-label]").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  }

  function run() {
    nameTableFields();
    nameComboboxes();
    nameIcons();
  }

  // After admin's own handlers: SelectFilter2 builds its widgets on load, select2
  // its boxes on a new inline row, both from listeners added before or after ours.
  function soon() {
    setTimeout(run, 0);
  }
  window.addEventListener("load", soon);
  document.addEventListener("formset:added", soon);
})();
