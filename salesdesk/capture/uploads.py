"""Mail and calendar files uploaded in the browser: kept until a background job has captured
them through the same code as `salesdesk capture mbox|eml|ics`, then removed.

The files live under MEDIA_ROOT (one folder per user, names that cannot be guessed), which
every app server and worker shares (docs/deploy.md); the job's summary is its Huey result,
read by the page that polls for it.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

MAX_BYTES = 200 * 1024 * 1024
KINDS = ("mbox", "eml", "ics")
_NAME = "{token}.{kind}"


class UploadError(Exception):
    """What is wrong with an uploaded file, in words for the person who chose it."""


def folder(user) -> Path:
    return Path(settings.MEDIA_ROOT) / "capture" / str(user.pk)


def sniff(head: bytes, name: str) -> str:
    """ "ics", "mbox" or "eml" from a file's first bytes (the name only breaks ties)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if b"BEGIN:VCALENDAR" in text[:200].upper():
        return "ics"
    if text.startswith(b"From "):
        return "mbox"
    first_line = text.split(b"\n", 1)[0]
    if b":" in first_line and not first_line.startswith((b"{", b"<", b"%PDF")):
        return "eml"
    kind = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    raise UploadError(
        f"{name} is not an e-mail (.eml), mail archive (mbox) or calendar (.ics) file"
        + (f" (a .{kind} file of another kind)." if kind in KINDS else ".")
    )


def store(user, upload: UploadedFile) -> tuple[str, str]:
    """Save the upload for the job; returns (token, kind). Raises UploadError."""
    if upload.size > MAX_BYTES:
        raise UploadError(
            f"{upload.name} is larger than {MAX_BYTES // (1024 * 1024)} MB: export a shorter "
            "period, or use `salesdesk capture` on the server."
        )
    if upload.size == 0:
        raise UploadError(f"{upload.name} is empty.")
    upload.seek(0)
    kind = sniff(upload.read(4096), upload.name)
    upload.seek(0)
    target = folder(user)
    target.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    path = target / _NAME.format(token=token, kind=kind)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        for chunk in upload.chunks():
            file.write(chunk)
    return token, kind


def path_of(user, token: str, kind: str) -> Path | None:
    """The user's stored upload, or None (another user's token names no file of theirs)."""
    if kind not in KINDS or len(token) != 32 or not all(c in "0123456789abcdef" for c in token):
        return None
    path = folder(user) / _NAME.format(token=token, kind=kind)
    return path if path.is_file() else None
