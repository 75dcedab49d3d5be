// Progressive enhancement only: every page works without this script.
// Refreshes the page every 30 s while the box is ticked (remembered per browser).
(function () {
  var box = document.getElementById("autorefresh");
  if (!box) return;
  var key = "vigil.autorefresh";
  box.checked = window.localStorage && localStorage.getItem(key) === "1";
  var timer = null;
  function arm() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (box.checked) timer = setTimeout(function () { if (!document.hidden) location.reload(); else arm(); }, 30000);
  }
  box.addEventListener("change", function () {
    if (window.localStorage) localStorage.setItem(key, box.checked ? "1" : "0");
    arm();
  });
  arm();
})();
