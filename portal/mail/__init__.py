"""Email to customers: the invitation, its reminders and the signed mandate's copy; SMTP or
``.eml`` files in ``instance/outbox/``; bounces recorded on the invitation."""
