"""Fixtures for the capture tests. The real servers live in `servers.py`."""

from tests.capture.servers import dovecot, imap_user, smtp_server

__all__ = ["dovecot", "imap_user", "smtp_server"]
