from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "salesdesk.crm"
    label = "crm"
