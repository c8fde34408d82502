import zoneinfo

from django.utils import timezone, translation


def language_for(locale: str) -> str:
    """The language to activate for a user's locale: English words, the locale's formats.

    The interface is English; `de` means "write dates and numbers as in Germany". Activating
    `en-de` keeps Django's English texts ("3 days ago", "Wednesday") and takes the formats
    from `salesdesk/formats/en_DE/`, which are Django's German ones.
    """
    if locale in ("en-gb", "en-us", ""):
        return locale or "en-gb"
    return f"en-{locale}"


class UserLocaleMiddleware:
    """Show times in the signed-in user's time zone and numbers and dates in their locale."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.timezone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            translation.activate(language_for(user.locale))
            request.LANGUAGE_CODE = translation.get_language()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
            translation.deactivate()
