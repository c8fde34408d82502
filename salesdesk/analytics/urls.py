from salesdesk.analytics import revenue_urls, review_urls, team_urls

urlpatterns = [*revenue_urls.urlpatterns, *team_urls.urlpatterns, *review_urls.urlpatterns]
