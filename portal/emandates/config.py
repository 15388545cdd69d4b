"""The bank-signing settings of an app, read from its configuration (cheap: a few numbers)."""

from __future__ import annotations

from flask import Flask

from portal.emandates.service import BankSettings


def bank_settings(app: Flask) -> BankSettings:
    return BankSettings.from_config(app.config)
