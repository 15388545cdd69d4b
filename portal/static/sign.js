// The signing form: focus the error summary after a failed submit, and give live IBAN feedback
// (the bank once the IBAN is valid, or what is wrong with it).
(function () {
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
  var input = document.getElementById("iban");
  var out = document.getElementById("iban-bank");
  if (!input || !out) return;
  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var value = input.value.replace(/\s+/g, "");
      if (value.length < 15) { out.textContent = ""; return; }
      var csrf = document.querySelector("input[name=csrf_token]");
      fetch(input.dataset.checkUrl, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.value : ""},
        body: JSON.stringify({value: value})
      })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          out.textContent = data.valid ? [data.bank_name, data.bic].filter(Boolean).join(" · ") : data.message;
          out.classList.toggle("field-error", !data.valid);
          if (data.valid) {
            var old = document.getElementById("iban-error");
            if (old) old.remove();
            input.removeAttribute("aria-invalid");
            input.setAttribute("aria-describedby", "iban-hint iban-bank");
          }
        })
        .catch(function () {});
    }, 300);
  });
})();
