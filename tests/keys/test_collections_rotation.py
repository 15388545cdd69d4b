"""Collections keep the debtor account of each presentation encrypted under the data key: a
rotation moves those values too, and the account a mandate had at its last collection is still
recognised as the same account while the rotation is half done (no amendment sent for it)."""

from __future__ import annotations

from sqlalchemy import select

from portal.collections.batches import amendment_for
from portal.collections.models import DebitAttempt
from portal.crypto import FieldCipher
from portal.db import state
from portal.keys.service import encrypted_columns, reencrypt_all
from portal.mandates.models import Mandate
from portal.mandates.service import set_debtor_account
from portal.merchants.models import Merchant
from tests.collections.conftest import active_mandate, collecting_merchant, history
from tests.keys.conftest import NEW_KEY, Keyed, iban, session_of

ACCOUNT, SAME_BANK = iban(0), iban(1)


def _collected_under_the_old_key(keyed: Keyed) -> tuple[int, int]:
    with keyed.old.app_context(), session_of(keyed.old) as session:
        merchant = collecting_merchant(session)
        mandate = active_mandate(session, merchant, iban=ACCOUNT)
        history(session, mandate)
        session.commit()
        return merchant.id, mandate.id


def _amendment(keyed_app, merchant_id: int, mandate_id: int):
    with keyed_app.app_context(), session_of(keyed_app) as session:
        return amendment_for(session, session.get(Mandate, mandate_id),
                             session.get(Merchant, merchant_id))


def test_a_half_done_rotation_is_no_account_change(keyed: Keyed) -> None:
    merchant_id, mandate_id = _collected_under_the_old_key(keyed)
    [mandates] = [c for c in encrypted_columns() if c.name == "mandate.iban_ciphertext"]
    reencrypt_all(state(keyed.rotating).factory, state(keyed.rotating).cipher, columns=[mandates])
    with session_of(keyed.rotating) as session:
        attempt = session.scalar(select(DebitAttempt))
        assert attempt.debtor_iban_hash != session.get(Mandate, mandate_id).iban_hash
    assert _amendment(keyed.rotating, merchant_id, mandate_id) is None


def test_reencrypt_moves_the_presented_accounts_and_their_hashes(keyed: Keyed) -> None:
    merchant_id, mandate_id = _collected_under_the_old_key(keyed)
    result = keyed.rotating.test_cli_runner().invoke(args=["keys", "reencrypt"])
    assert result.exit_code == 0, result.output
    assert "debit_attempt.debtor_iban_ciphertext: 1/1" in result.output
    new_id = FieldCipher(NEW_KEY).current_key_id
    with session_of(keyed.new) as session:
        attempt = session.scalar(select(DebitAttempt))
        mandate = session.get(Mandate, mandate_id)
        assert attempt.debtor_iban_ciphertext.startswith(f"v1.{new_id}.")
        assert attempt.debtor_iban_hash == mandate.iban_hash
        assert FieldCipher(NEW_KEY).decrypt(attempt.debtor_iban_ciphertext,
                                            "mandate.iban") == ACCOUNT
    assert _amendment(keyed.new, merchant_id, mandate_id) is None


def test_a_real_account_change_during_the_rotation_is_still_one(keyed: Keyed) -> None:
    """Same bank, other account: the original account goes to the bank (OrgnlDbtrAcct)."""
    merchant_id, mandate_id = _collected_under_the_old_key(keyed)
    with keyed.rotating.app_context(), session_of(keyed.rotating) as session:
        set_debtor_account(session, session.get(Mandate, mandate_id), SAME_BANK, None)
        session.commit()
    amendment = _amendment(keyed.rotating, merchant_id, mandate_id)
    assert amendment is not None and amendment.original_iban == ACCOUNT
    assert not amendment.new_debtor_agent
