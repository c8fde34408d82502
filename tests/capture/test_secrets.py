"""Mailbox passwords at rest: Fernet with a key from settings, or derived from SECRET_KEY."""

import pytest
from cryptography.fernet import Fernet

from salesdesk.capture import secrets
from salesdesk.capture.secrets import SecretError

PASSWORD = "correct horse battery staple ñ"


def test_round_trip_with_the_configured_key(settings):
    settings.SALESDESK_CAPTURE_KEY = Fernet.generate_key().decode()

    token = secrets.encrypt(PASSWORD)

    assert secrets.decrypt(token) == PASSWORD
    assert PASSWORD not in token
    assert "horse" not in token


def test_round_trip_with_a_key_derived_from_secret_key(settings):
    settings.SALESDESK_CAPTURE_KEY = ""
    settings.SECRET_KEY = "a" * 50

    token = secrets.encrypt(PASSWORD)

    assert secrets.decrypt(token) == PASSWORD
    assert "horse" not in token


def test_a_new_secret_key_makes_saved_passwords_unreadable(settings):
    settings.SALESDESK_CAPTURE_KEY = ""
    settings.SECRET_KEY = "a" * 50
    token = secrets.encrypt(PASSWORD)
    settings.SECRET_KEY = "b" * 50

    with pytest.raises(SecretError) as caught:
        secrets.decrypt(token)

    assert str(caught.value) == (
        "The saved password can no longer be read (the server's encryption key changed): "
        "enter the mailbox password again."
    )
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_different_capture_key_is_a_secret_error(settings):
    settings.SALESDESK_CAPTURE_KEY = Fernet.generate_key().decode()
    token = secrets.encrypt(PASSWORD)
    settings.SALESDESK_CAPTURE_KEY = Fernet.generate_key().decode()

    with pytest.raises(SecretError):
        secrets.decrypt(token)


def test_an_old_key_after_the_new_one_still_reads_passwords(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SALESDESK_CAPTURE_KEY = old
    saved_before = secrets.encrypt(PASSWORD)
    settings.SALESDESK_CAPTURE_KEY = f"{new}, {old}"

    saved_after = secrets.encrypt(PASSWORD)

    assert secrets.decrypt(saved_before) == PASSWORD
    settings.SALESDESK_CAPTURE_KEY = new
    assert secrets.decrypt(saved_after) == PASSWORD  # encrypted with the first key


def test_a_malformed_capture_key_is_a_clear_error(settings):
    settings.SALESDESK_CAPTURE_KEY = "not-a-key"

    with pytest.raises(SecretError, match="CAPTURE_KEY is not a valid key"):
        secrets.encrypt(PASSWORD)


def test_garbage_instead_of_a_token_is_a_secret_error(settings):
    settings.SALESDESK_CAPTURE_KEY = ""

    with pytest.raises(SecretError):
        secrets.decrypt("ünreadable")
