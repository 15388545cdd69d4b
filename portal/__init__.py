"""The mandate portal: ``create_app()`` builds the Flask application."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from flask_wtf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

csrf = CSRFProtect()


def create_app(test_config: dict | None = None, *, problems: list[str] | None = None) -> Flask:
    """Application factory: config layers, database, i18n, blueprints, error handlers, CLI.

    ``problems`` collects configuration errors instead of refusing to start (``flask check``)."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("PORTAL_INSTANCE_PATH")
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    _private_folder(Path(app.instance_path))

    import portal.console.bookkeeping  # noqa: F401  (its pages are on the console's blueprint)
    from portal import api, cli, db, errors, health, home, i18n, limits, logs, metrics, security
    from portal.adapters import build as adapters
    from portal.adapters import get_adapters
    from portal.config import load_config
    from portal.console.pages import bp as console_bp
    from portal.jobs import worker
    from portal.merchants.views import bp as brand_bp
    from portal.payments.views import bp as pay_bp
    from portal.reminders.views import bp as reminders_bp
    from portal.sandbox.views import bp as sandbox_bp
    from portal.shortlinks.views import bp as shortlinks_bp
    from portal.sign.embed import bp as embed_bp
    from portal.sign.fast_page import serve_cached_pages
    from portal.sign.views import bp as sign_bp
    from portal.verification.views import bp as verification_bp

    load_config(app, test_config, problems)
    from portal.sessions import CachedSigningSessionInterface

    app.session_interface = CachedSigningSessionInterface()
    logs.configure_logging(app)
    db.init_app(app)
    running = adapters.init_app(app, problems)
    i18n.init_app(app)
    csrf.init_app(app)
    limits.init_app(app)
    security.init_app(app)
    metrics.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    worker.init_app(app)
    for blueprint in (home.bp, health.bp, brand_bp, sign_bp, embed_bp, verification_bp,
                      shortlinks_bp, reminders_bp, console_bp, pay_bp):
        app.register_blueprint(blueprint)
    if "payments" in running.sandboxes:  # the sandbox's iDEAL pages, only when it is in use
        app.register_blueprint(sandbox_bp)
    # Whenever a sandbox is in use, every page says so (a staging site, or development).
    app.context_processor(lambda: {"test_mode": get_adapters(app).test_mode})
    csrf.exempt(verification_bp)  # providers post webhooks; they carry no browser session
    if "banks" in running.sandboxes:  # the sandbox bank's iDx endpoints and pages, likewise
        from portal.banks.sandbox.views import bp as sandbox_bank_bp
        from portal.banks.sandbox.views import idx_endpoint

        app.register_blueprint(sandbox_bank_bp)
        csrf.exempt(idx_endpoint)  # iDx requests are signed XML, not browser forms
    api.init_app(app)  # the merchant API: blueprint, token server, api-client CLI
    serve_cached_pages(app)  # repeat visits of signing links, before Flask dispatches them
    if proxies := int(app.config["TRUSTED_PROXIES"]):  # outermost: what the others see
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    return app


def _private_folder(path: Path) -> None:
    """The instance folder holds keys, the database and PDFs: its owner's only (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_mode & 0o077 and info.st_uid == os.getuid():
        path.chmod(0o700)
