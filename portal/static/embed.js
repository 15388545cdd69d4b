/*! Mandate portal drop-in v1: MandatePortal.mount(element, {url, onEvent}) */
(function (window, document) {
  "use strict";
  var EVENTS = {ready: 1, signed: 1, failed: 1, closed: 1};

  function mount(target, options) {
    var host = typeof target === "string" ? document.querySelector(target) : target;
    if (!host || !options || !options.url) throw new Error("MandatePortal.mount(element, {url})");
    var src = new URL(options.url, window.location.href);
    var portalOrigin = src.origin;
    src.searchParams.set("embed", "1");
    src.searchParams.set("origin", window.location.origin);
    src.searchParams.set("return_to", window.location.href.split("#")[0]);
    var frame = document.createElement("iframe");
    frame.src = src.toString();
    frame.title = options.title || "SEPA direct debit mandate";
    frame.style.cssText = "width:100%;border:0;display:block;height:480px";
    frame.setAttribute("allow", "");
    function onMessage(message) {
      // Only our frame, from the portal's origin, with our envelope.
      if (message.origin !== portalOrigin || message.source !== frame.contentWindow) return;
      var data = message.data;
      if (!data || data.source !== "mandate-portal") return;
      if (data.event === "resize" && typeof data.detail === "number") {
        frame.style.height = Math.max(200, Math.min(data.detail, 10000)) + "px";
      } else if (data.event === "redirect" && typeof data.detail === "string") {
        var next = new URL(data.detail, portalOrigin);
        if (next.protocol === "https:" || next.origin === portalOrigin) window.location.assign(next.href);
      } else if (EVENTS[data.event] && typeof options.onEvent === "function") {
        options.onEvent({type: data.event, detail: data.detail});
      }
    }
    window.addEventListener("message", onMessage);
    host.appendChild(frame);
    return {
      frame: frame,
      destroy: function () { window.removeEventListener("message", onMessage); frame.remove(); }
    };
  }

  window.MandatePortal = {mount: mount, version: "1"};
})(window, document);
