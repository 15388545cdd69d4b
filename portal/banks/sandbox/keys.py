"""The sandbox's keys and certificates, generated once under ``instance/emandates-sandbox/``:
the portal's merchant pair (as the sandbox contract knows it), the acquirer's and the debtor
banks' own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from portal.banks.certificates import SigningPair, load_or_create_signing_pair


@dataclass(frozen=True)
class SandboxKeys:
    merchant: SigningPair
    acquirer: SigningPair
    issuer: SigningPair


def load_or_create_sandbox_keys(folder: Path) -> SandboxKeys:
    return SandboxKeys(
        merchant=load_or_create_signing_pair(folder, "merchant", "Mandate portal (sandbox merchant)"),
        acquirer=load_or_create_signing_pair(folder, "acquirer", "Sandbox eMandates acquirer"),
        issuer=load_or_create_signing_pair(folder, "debtor-bank", "Sandbox debtor bank"))
