"""Reminders for invitations not yet signed (on the merchant's schedule, stopped by signing,
expiry, withdrawal, a failed delivery or the customer's unsubscribe), and the job that expires
invitations nobody signed."""
