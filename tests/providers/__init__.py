"""Tests for portal.providers: the provider interface, the Mollie adapter and its local twin."""
