from django.urls import path

from salesdesk.analytics import drilldown, revenue_views

urlpatterns = [
    path("dashboards/revenue/", revenue_views.revenue_dashboard, name="revenue_dashboard"),
    path("dashboards/deals/", drilldown.deal_drilldown, name="dashboard_deals"),
]
