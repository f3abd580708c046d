// Case tables (js_on_load): a click, or Enter on a focused row, asks the server to open the case.
(() => {
  const open = (row) => trigger("select", { case_id: Number(row.dataset.case) });
  element.addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-case]");
    if (row && element.contains(row)) open(row);
  });
  element.addEventListener("keydown", (e) => {
    const row = e.target.closest("tr[data-case]");
    if (row && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      open(row);
    }
  });
})();
