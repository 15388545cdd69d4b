"""The console blueprint with every page of it registered (each views module adds its own)."""

from portal.console import account_views, views  # noqa: F401 - importing registers the routes
from portal.console.blueprint import bp

__all__ = ["bp"]
