"""Changing an app's configuration after it was created: adapters are built once per app, so
they are built again from the new settings, as a restart would."""

from __future__ import annotations

from typing import Any

from flask import Flask

from portal.adapters import build


def reconfigure(app: Flask, **settings: Any) -> Flask:
    app.config.update(settings)
    build.init_app(app)
    return app
