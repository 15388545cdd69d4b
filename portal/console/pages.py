"""The console blueprint with every page of it registered (each views module adds its own)."""

from portal.console import (  # noqa: F401 - importing registers the routes
    account_views,
    batch_views,
    merchant_views,
    staff_views,
    views,
)
from portal.console.blueprint import bp

__all__ = ["bp"]
