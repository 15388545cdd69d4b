"""What every message transport (mail, SMS) raises, so one rule handles both outcomes."""


class Rejected(Exception):
    """Refused for good (unknown mailbox, invalid number): sending again will not help."""


class Deferred(Exception):
    """Not taken now (outage, rate limit): try again later."""
