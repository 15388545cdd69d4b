from tests.mail.conftest import clock, merchant, smtp  # noqa: F401  (fixtures)
