from django.urls import path

from salesdesk.activities import views

urlpatterns = [
    path("activities/", views.activity_list, name="activity-list"),
    path("activities/new/", views.activity_create, name="activity-create"),
    path("activities/export/", views.activity_export, name="activity-export"),
    path("activities/timeline/", views.timeline_page, name="activity-timeline"),
    path("activities/<int:pk>/edit/", views.activity_edit, name="activity-edit"),
    path("activities/<int:pk>/delete/", views.activity_delete, name="activity-delete"),
    path("activities/<int:pk>/done/", views.activity_done, name="activity-done"),
]
