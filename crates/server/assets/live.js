// confab dashboard: live updates. An element with data-live="URL" listens to the server-sent
// events at URL; on "changed" the element named by its data-refresh (a CSS selector) is
// reloaded from the current address. Reconnects by itself when a stream ends.
(function () {
  var source = null;
  var url = null;
  function connect() {
    var el = document.querySelector("[data-live]");
    var next = el ? el.getAttribute("data-live") : null;
    if (next === url) return;
    if (source) { source.close(); source = null; }
    url = next;
    if (!url) return;
    source = new EventSource(url);
    source.addEventListener("changed", function () {
      var holder = document.querySelector("[data-live]");
      if (!holder) return;
      var target = holder.getAttribute("data-refresh");
      htmx.ajax("GET", window.location.pathname + window.location.search, { target: target, select: target, swap: "outerHTML" });
    });
  }
  document.addEventListener("DOMContentLoaded", connect);
  document.addEventListener("htmx:afterSettle", connect);
})();
