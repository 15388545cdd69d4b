from tests.mail.conftest import clock  # noqa: F401  (fixture)
