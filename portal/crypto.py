"""Encryption of sensitive fields at rest (IBANs, webhook secrets) and keyed hashes for search."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"


class DecryptionError(ValueError):
    """A ciphertext was made with none of the configured keys, or was altered."""


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=b"mandate-portal", info=purpose).derive(
        secret.encode()
    )


def encrypted(context: str, *, lookup_hash: str | None = None) -> dict[str, Any]:
    """Column ``info`` marking a column as holding :class:`FieldCipher` ciphertexts.

    ``context`` is the associated data the values were encrypted with; ``lookup_hash`` names
    the column of the same table holding the keyed hash of the plaintext. ``flask --app portal
    keys reencrypt`` finds every column marked this way."""
    info: dict[str, Any] = {"encrypted": context}
    if lookup_hash:
        info["lookup_hash"] = lookup_hash
    return info


class FieldCipher:
    """AES-256-GCM for values at rest, with key rotation by key id; HMAC-SHA256 for lookups.

    Ciphertexts read ``v1.<key id>.<base64(nonce + ciphertext)>``. New values use the current
    key; values made with a fallback key still decrypt. A lookup hash is made with the current
    key, and a search looks under every configured key (:meth:`lookup_hashes`), so search keeps
    working through a rotation until ``flask --app portal keys reencrypt`` has moved every value
    to the current key.
    """

    def __init__(self, secret: str, fallbacks: list[str] | tuple[str, ...] = ()) -> None:
        self._keys: dict[str, AESGCM] = {}
        self._hash_keys: dict[str, bytes] = {}
        for index, material in enumerate([secret, *fallbacks]):
            key = _derive(material, b"field-encryption")
            key_id = hashlib.sha256(key).hexdigest()[:8]
            if key_id in self._keys:
                continue
            self._keys[key_id] = AESGCM(key)
            self._hash_keys[key_id] = _derive(material, b"lookup-hash")
            if index == 0:
                self._current = key_id

    @property
    def current_key_id(self) -> str:
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every configured key's id, the current one first."""
        return tuple(self._keys)

    def prefix(self, key_id: str | None = None) -> str:
        """How every ciphertext made with ``key_id`` (default: the current key) begins."""
        return f"{VERSION}.{key_id or self._current}."

    @staticmethod
    def key_id_of(token: str) -> str | None:
        """The id of the key a ciphertext names (None if it is not one of ours)."""
        version, _, rest = token.partition(".")
        key_id, dot, _ = rest.partition(".")
        return key_id if version == VERSION and dot else None

    def encrypt(self, plaintext: str, context: str) -> str:
        """Encrypt; ``context`` (e.g. the column name) is bound as associated data."""
        nonce = os.urandom(12)
        sealed = self._keys[self._current].encrypt(nonce, plaintext.encode(), context.encode())
        return f"{self.prefix()}{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, context: str) -> str:
        try:
            version, key_id, payload = token.split(".", 2)
            raw = base64.urlsafe_b64decode(payload)
            aes = self._keys[key_id]
            if version != VERSION:
                raise KeyError(version)
            return aes.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except Exception as exc:  # any failure means: not ours or tampered
            raise DecryptionError("value cannot be decrypted with the configured data keys") from exc

    def lookup_hash(self, value: str) -> str:
        """Keyed hash (current key) for exact-match search without storing the value in clear."""
        return self._hash(self._current, value)

    def lookup_hashes(self, value: str) -> list[str]:
        """The value's hash under every configured key, current first: what a search matches."""
        return [self._hash(key_id, value) for key_id in self._keys]

    def _hash(self, key_id: str, value: str) -> str:
        return hmac.new(self._hash_keys[key_id], value.encode(), hashlib.sha256).hexdigest()
