"""API client names follow the rule for names, so a name PostgreSQL cannot store (NUL) or one
that would garble a page or a log line is refused with a reason instead of failing later."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.api.clients import ClientInputError, create_client
from portal.api.models import ApiClient
from tests.factories import make_merchant


@pytest.mark.parametrize("name", ["\x00", "ERP\r\nX-Injected: 1", "\u202eevil", "", "  ",
                                  "x" * 101])
def test_a_name_breaking_the_rule_is_refused(session: Session, name: str) -> None:
    merchant = make_merchant(session)
    with pytest.raises(ClientInputError, match="the name"):
        create_client(session, merchant, name, "mandates:read")
    session.flush()
    assert session.scalar(select(func.count()).select_from(ApiClient)) == 0


def test_a_name_is_stored_normalised(session: Session) -> None:
    merchant = make_merchant(session)
    new = create_client(session, merchant, "  Cafe\u0301 ERP ", "mandates:read")
    session.commit()
    assert new.client.name == "Caf\u00e9 ERP"
