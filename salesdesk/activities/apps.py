from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "salesdesk.activities"
    label = "activities"
