from django.apps import AppConfig


class GoalsConfig(AppConfig):
    name = "salesdesk.goals"
    label = "goals"
