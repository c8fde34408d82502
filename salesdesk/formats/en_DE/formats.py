"""English words with the de way of writing dates and numbers."""

from django.conf.locale.de.formats import *  # noqa: F403
