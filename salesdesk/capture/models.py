"""Mailboxes, calendars and what was captured from them."""
