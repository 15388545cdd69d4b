"""Signed webhooks (Standard Webhooks) to merchants' endpoints, retried for days, never lost."""
