"""CSV batches from the console: invitations, payment requests, invoices and mandates signed
elsewhere, checked row by row (a dry run) and imported all at once, in the background."""
