"""English words with the es way of writing dates and numbers."""

from django.conf.locale.es.formats import *  # noqa: F403
