"""Encryption of sensitive fields at rest (IBANs) and keyed hashes for exact search."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class DecryptionError(ValueError):
    """A ciphertext was made with none of the configured keys, or was altered."""


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=b"mandate-portal", info=purpose).derive(
        secret.encode()
    )


class FieldCipher:
    """AES-256-GCM for values at rest, with key rotation by key id; HMAC-SHA256 for lookups.

    Ciphertexts read ``v1.<key id>.<base64(nonce + ciphertext)>``. New values use the current
    key; values made with a fallback key still decrypt. The lookup hash always uses the current
    key, so rotating the data key needs ``flask --app portal keys rehash`` (see README).
    """

    def __init__(self, secret: str, fallbacks: list[str] | tuple[str, ...] = ()) -> None:
        self._keys: dict[str, AESGCM] = {}
        for index, material in enumerate([secret, *fallbacks]):
            key = _derive(material, b"field-encryption")
            key_id = hashlib.sha256(key).hexdigest()[:8]
            self._keys.setdefault(key_id, AESGCM(key))
            if index == 0:
                self._current = key_id
        self._hash_key = _derive(secret, b"lookup-hash")

    def encrypt(self, plaintext: str, context: str) -> str:
        """Encrypt; ``context`` (e.g. the column name) is bound as associated data."""
        nonce = os.urandom(12)
        sealed = self._keys[self._current].encrypt(nonce, plaintext.encode(), context.encode())
        return f"v1.{self._current}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, context: str) -> str:
        try:
            version, key_id, payload = token.split(".", 2)
            raw = base64.urlsafe_b64decode(payload)
            aes = self._keys[key_id]
            if version != "v1":
                raise KeyError(version)
            return aes.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except Exception as exc:  # any failure means: not ours or tampered
            raise DecryptionError("value cannot be decrypted with the configured data keys") from exc

    def lookup_hash(self, value: str) -> str:
        """Keyed hash for exact-match search without storing the value in clear."""
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()
