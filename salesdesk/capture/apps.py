from django.apps import AppConfig


class CaptureConfig(AppConfig):
    name = "salesdesk.capture"
    label = "capture"
