// The bill's "Print" button: a script file, not an inline handler, for the site's CSP.
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) window.print();
});
