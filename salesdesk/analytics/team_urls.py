from django.urls import path

from salesdesk.analytics import team_views

urlpatterns = [
    path("dashboards/team/", team_views.team_dashboard, name="team-dashboard"),
]
