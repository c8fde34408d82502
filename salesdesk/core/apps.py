from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "salesdesk.core"
    label = "core"
    verbose_name = "Core"
