"""English words with the nl way of writing dates and numbers."""

from django.conf.locale.nl.formats import *  # noqa: F403
