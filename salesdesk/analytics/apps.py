from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "salesdesk.analytics"
    label = "analytics"
