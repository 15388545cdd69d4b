"""The support console under ``/console``: staff log in, find a mandate, see its whole story."""
