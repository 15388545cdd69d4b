// Polls the mandate status on the confirmation page until it is final, then reloads once.
(function () {
  var box = document.getElementById("confirmation");
  if (!box || box.dataset.status !== "awaiting_verification") return;
  var tries = 0;
  function poll() {
    tries += 1;
    fetch(box.dataset.statusUrl, {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.status !== "awaiting_verification" || data.retry) { window.location.reload(); return; }
        if (tries < 150) setTimeout(poll, 2000);
      })
      .catch(function () { if (tries < 150) setTimeout(poll, 4000); });
  }
  setTimeout(poll, 2000);
})();
