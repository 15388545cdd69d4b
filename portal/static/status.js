// Polls the mandate status on the confirmation page until the mandate is final and its PDF
// exists, then reloads once to show the result.
(function () {
  var box = document.getElementById("confirmation");
  if (!box) return;
  var pdf = document.getElementById("pdf-state");
  var waiting = box.dataset.status === "awaiting_verification" || box.dataset.attempt === "open" ||
    box.dataset.attempt === "pending" || (pdf && pdf.dataset.pdf === "pending");
  if (!waiting) return;
  var tries = 0;
  function poll() {
    tries += 1;
    fetch(box.dataset.statusUrl, {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.status !== box.dataset.status || data.retry || data.attempt !== box.dataset.attempt ||
            (pdf && data.pdf !== pdf.dataset.pdf)) {
          window.location.reload();
          return;
        }
        if (tries < 150) setTimeout(poll, 2000);
      })
      .catch(function () { if (tries < 150) setTimeout(poll, 4000); });
  }
  setTimeout(poll, 2000);
})();
