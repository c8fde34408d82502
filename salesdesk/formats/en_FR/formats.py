"""English words with the fr way of writing dates and numbers."""

from django.conf.locale.fr.formats import *  # noqa: F403
