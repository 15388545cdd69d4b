// Inside a merchant's iframe: tell the host page (and only the origin the portal checked)
// that the frame is ready, how tall it is, and how the mandate went.
(function () {
  var box = document.getElementById("embed");
  if (!box || window.parent === window) return;
  var origin = box.dataset.origin;
  function post(event, detail) {
    window.parent.postMessage({source: "mandate-portal", event: event, detail: detail || null}, origin);
  }
  // The body's own height: the document's never drops below the frame's viewport.
  function height() { post("resize", Math.ceil(document.body.getBoundingClientRect().height)); }
  post("ready");
  height();
  if (window.ResizeObserver) new ResizeObserver(height).observe(document.body);
  if (box.dataset.event === "redirect") post("redirect", box.dataset.redirect);
  else if (box.dataset.event) post(box.dataset.event, box.dataset.detail);
  var close = document.getElementById("embed-close");
  if (close) close.addEventListener("click", function () { post("closed"); });
})();
