from django.urls import path

from salesdesk.activities import my_day
from salesdesk.core import pickers, views

urlpatterns = [
    path("", my_day.my_day_page, name="home"),
    path("my-day/tasks/", my_day.task_add, name="my_day_task_add"),
    path("my-day/tasks/<int:pk>/done/", my_day.task_done, name="my_day_task_done"),
    path("import/", views.import_start, name="import_start"),
    path("import/<str:entity>/<str:token>/", views.import_file, name="import_file"),
    path("pick/companies/", pickers.companies, name="pick_companies"),
    path("pick/contacts/", pickers.contacts, name="pick_contacts"),
    path("pick/deals/", pickers.deals, name="pick_deals"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("offline/", views.offline, name="offline"),
]
