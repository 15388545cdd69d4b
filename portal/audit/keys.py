"""The audit keys: HMAC keys for the chain and its head statements, kept outside the database.

Someone who can write to the database can rewrite rows and recompute plain hashes; without the
key (``PORTAL_AUDIT_KEY``) they cannot recompute HMACs. Each row names the key id it was made
with, so after a rotation the previous keys (``PORTAL_AUDIT_KEY_FALLBACKS``) still verify the
rows they made while new rows use the current key.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: Key id of rows written before the chain was keyed: plain SHA-256, no key.
LEGACY_KEY_ID = "sha256"


class UnknownAuditKey(KeyError):
    """A row or statement names a key id that is not configured."""


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=b"mandate-portal-audit",
                info=purpose).derive(secret.encode())


class AuditKeyring:
    """The current audit key and the previous ones, by key id."""

    def __init__(self, secret: str, fallbacks: list[str] | tuple[str, ...] = ()) -> None:
        self._chain: dict[str, bytes] = {}
        self._statements: dict[str, bytes] = {}
        for index, material in enumerate([secret, *fallbacks]):
            chain_key = _derive(material, b"audit-chain")
            key_id = hashlib.sha256(chain_key).hexdigest()[:8]
            if key_id in self._chain:
                continue
            self._chain[key_id] = chain_key
            self._statements[key_id] = _derive(material, b"audit-head-statement")
            if index == 0:
                self._current = key_id

    @property
    def current_key_id(self) -> str:
        return self._current

    def knows(self, key_id: str) -> bool:
        return key_id in self._chain

    def chain_mac(self, key_id: str, message: bytes) -> str:
        """HMAC-SHA256 (hex) of a row's canonical form under the key it names."""
        return self._mac(self._chain, key_id, message)

    def statement_mac(self, key_id: str, message: bytes) -> str:
        return self._mac(self._statements, key_id, message)

    @staticmethod
    def _mac(keys: dict[str, bytes], key_id: str, message: bytes) -> str:
        try:
            key = keys[key_id]
        except KeyError:
            raise UnknownAuditKey(key_id) from None
        return hmac.new(key, message, hashlib.sha256).hexdigest()
