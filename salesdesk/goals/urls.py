from django.urls import path

from salesdesk.goals import views

urlpatterns = [
    path("goals/", views.goal_list, name="goal-list"),
    path("goals/new/", views.goal_create, name="goal-create"),
    path("goals/roll-over/", views.goal_roll_over, name="goal-roll-over"),
    path("goals/<int:pk>/figures/", views.goal_figures, name="goal-figures"),
    path("goals/<int:pk>/members/", views.goal_members, name="goal-members"),
    path("goals/<int:pk>/edit/", views.goal_edit, name="goal-edit"),
    path("goals/<int:pk>/delete/", views.goal_delete, name="goal-delete"),
]
