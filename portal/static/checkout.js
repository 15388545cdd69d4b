// Polls the payment's outcome while the bank confirms, then reloads once to show it.
(function () {
  var box = document.getElementById("outcome");
  if (!box || box.dataset.outcome !== "pending") return;
  var tries = 0;
  function poll() {
    tries += 1;
    fetch(box.dataset.statusUrl, {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.outcome !== "pending") { window.location.reload(); return; }
        if (tries < 150) setTimeout(poll, 2000);
      })
      .catch(function () { if (tries < 150) setTimeout(poll, 4000); });
  }
  setTimeout(poll, 2000);
})();
