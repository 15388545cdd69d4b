"""Data-key rotation: re-encrypting every encrypted column under the current key."""
