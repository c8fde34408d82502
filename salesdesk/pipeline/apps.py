from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "salesdesk.pipeline"
    label = "pipeline"
