// Applies the chosen colour theme before the page is drawn, so that a dark-mode user sees no flash of
// light. "light" or "dark" as chosen with the toggle; absent: follow the system setting.
(function () {
  try {
    var t = localStorage.getItem("ixrs-theme");
    if (t === "light" || t === "dark") document.documentElement.setAttribute("data-theme", t);
  } catch (e) { /* storage disabled: follow the system */ }
})();
