"""Data without typing: mailboxes, calendars, files, e-mail parsing, signatures, sending."""
