from django.urls import path

from salesdesk.goals import forecast_views

urlpatterns = [
    path("forecast/", forecast_views.forecast_page, name="forecast"),
    path("forecast/export/", forecast_views.forecast_export, name="forecast_export"),
    path("forecast/vs-goal/", forecast_views.forecast_vs_goal, name="forecast_vs_goal"),
    path(
        "deals/<int:pk>/forecast-category/",
        forecast_views.forecast_category,
        name="forecast_category",
    ),
]
