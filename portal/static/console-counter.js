// Counter mode: follows the customer's progress on the tablet by polling the console's status
// of the invitation or payment request every 2 s; a final state hides the QR code and shows the
// result in large type. Without JavaScript the page refreshes itself (<noscript> meta refresh).
(function () {
  var screen = document.getElementById("counter");
  if (!screen || screen.dataset.final === "true") return;
  var state = document.getElementById("counter-state");
  var qr = document.getElementById("counter-qr");
  var refresh = document.getElementById("counter-refresh");
  var tries = 0;
  function show(data) {
    state.textContent = data.label;
    state.className = "counter-state counter-" + data.state;
    screen.dataset.state = data.state;
    document.title = data.label;
    if (data.final) {
      screen.dataset.final = "true";
      if (qr) qr.hidden = true;
      if (refresh) refresh.hidden = true;
    }
  }
  function poll() {
    tries += 1;
    fetch(screen.dataset.statusUrl, {credentials: "same-origin", cache: "no-store",
                                     headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (!r.ok || !(r.headers.get("Content-Type") || "").startsWith("application/json")) {
          throw new Error("status " + r.status);  // e.g. signed out: the link still works
        }
        return r.json();
      })
      .then(function (data) {
        if (data.state !== screen.dataset.state) show(data);
        if (!data.final && tries < 1800) setTimeout(poll, 2000);
      })
      .catch(function () { if (tries < 1800) setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
