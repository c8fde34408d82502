"""Mailbox passwords, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

The key is `SALESDESK_CAPTURE_KEY` (env `CAPTURE_KEY`, made by `Fernet.generate_key()`). Several
keys, comma-separated and newest first, let an operator rotate it: the first encrypts, all of
them decrypt. Without it the key is derived from `SECRET_KEY` (HKDF-SHA256), so a new
`SECRET_KEY` makes every stored password unreadable and users must enter them again: set
`CAPTURE_KEY` to keep the two apart. Nothing here logs a password or a key.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

HKDF_INFO = b"salesdesk mailbox secrets"


class SecretError(Exception):
    """A stored password that cannot be read, or a key that cannot be used; the message is meant
    for the user (or the operator) and never contains a secret."""


def _fernet() -> MultiFernet:
    configured = [key.strip() for key in (settings.SALESDESK_CAPTURE_KEY or "").split(",")]
    keys = [key for key in configured if key]
    if not keys:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
            settings.SECRET_KEY.encode()
        )
        keys = [base64.urlsafe_b64encode(derived).decode()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise SecretError(
            "CAPTURE_KEY is not a valid key: it must be 32 url-safe base64-encoded bytes, as "
            "made by Fernet.generate_key()."
        ) from None


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise SecretError(
            "The saved password can no longer be read (the server's encryption key changed): "
            "enter the mailbox password again."
        ) from None
