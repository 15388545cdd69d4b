// Marks the page as the sandbox bank's (styles in sandbox-bank.css); no inline script (CSP).
document.body.classList.add("sandbox-bank");
