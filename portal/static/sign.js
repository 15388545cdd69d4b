// The signing form: focus the error summary after a failed submit, and give live IBAN feedback
// (the bank once the IBAN is valid, or what is wrong with it).
(function () {
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
  // Signing at the bank: the bank list only when that method is chosen, and the bank of the
  // IBAN's BIC chosen for the debtor while they have not chosen one themselves.
  var bankChoice = document.getElementById("bank-choice");
  var bankSelect = document.getElementById("debtor_bank");
  var methods = document.querySelectorAll("input[name=method][type=radio]");
  function showBankChoice() {
    if (!bankChoice || !methods.length) return;
    var chosen = document.querySelector("input[name=method]:checked");
    bankChoice.hidden = !chosen || chosen.value !== "bank_emandate";
  }
  methods.forEach(function (radio) { radio.addEventListener("change", showBankChoice); });
  showBankChoice();
  var bankTouched = false;
  if (bankSelect) bankSelect.addEventListener("change", function () { bankTouched = true; });
  function preselectBank(bic) {
    if (!bankSelect || bankTouched || !bic) return;
    var option = bankSelect.querySelector('option[data-bic8="' + bic.slice(0, 8) + '"]');
    if (option) bankSelect.value = option.value;
  }
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
            preselectBank(data.bic);
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
