"""The console blueprint with every page of it registered (each views module adds its own)."""

from portal.console import (  # noqa: F401 - importing registers the routes
    account_views,
    batch_views,
    counter_views,
    mandate_views,
    merchant_views,
    settings_views,
    settings_webhook_views,
    staff_views,
    views,
    work_views,
)
from portal.console.blueprint import bp

__all__ = ["bp"]
