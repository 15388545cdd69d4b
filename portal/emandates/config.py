"""The bank-signing settings of an app, read from its configuration once."""

from __future__ import annotations

from flask import Flask

from portal.emandates.service import BankSettings


def bank_settings(app: Flask) -> BankSettings:
    settings = app.extensions.get("bank_settings")
    if settings is None:
        settings = app.extensions["bank_settings"] = BankSettings.from_config(app.config)
    return settings
