from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from salesdesk.accounts import forms, views
from salesdesk.pipeline import settings_views

password_reset_urls = [
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            form_class=forms.PasswordReset,
            template_name="registration/password_reset_form.html",
            email_template_name="registration/password_reset_email.txt",
            subject_template_name="registration/password_reset_subject.txt",
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(form_class=forms.SetPassword),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # An invitation is a password reset with a welcome: same token, friendlier words.
    path(
        "welcome/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            form_class=forms.SetPassword,
            template_name="registration/invite_accept.html",
            success_url=reverse_lazy("password_reset_complete"),
        ),
        name="invite_accept",
    ),
]

account_urls = [
    path("account/", views.profile, name="profile"),
    path("account/password/", views.password_change, name="password_change"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/created/", views.token_created, name="token_created"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]

settings_urls = [
    path("settings/", views.settings_index, name="settings"),
    path("settings/organization/", views.organization, name="settings_organization"),
    path("settings/users/", views.users, name="settings_users"),
    path("settings/users/invite/", views.user_invite, name="settings_user_invite"),
    path("settings/users/<int:pk>/", views.user_edit, name="settings_user"),
    path(
        "settings/users/<int:pk>/deactivate/",
        views.user_deactivate,
        name="settings_user_deactivate",
    ),
    path("settings/users/<int:pk>/activate/", views.user_activate, name="settings_user_activate"),
    path(
        "settings/users/<int:pk>/resend-invitation/",
        views.user_invitation_resend,
        name="settings_user_resend_invitation",
    ),
    path("settings/teams/", views.teams, name="settings_teams"),
    path("settings/teams/<int:pk>/", views.team_edit, name="settings_team"),
    path("settings/teams/<int:pk>/delete/", views.team_delete, name="settings_team_delete"),
    path("settings/pipelines/", settings_views.pipelines, name="settings_pipelines"),
    path("settings/pipelines/<int:pk>/", settings_views.pipeline_edit, name="settings_pipeline"),
    path(
        "settings/pipelines/<int:pk>/delete/",
        settings_views.pipeline_delete,
        name="settings_pipeline_delete",
    ),
    path(
        "settings/pipelines/<int:pk>/stages/",
        settings_views.stage_create,
        name="settings_stage_create",
    ),
    path(
        "settings/pipelines/<int:pk>/order/",
        settings_views.stage_order,
        name="settings_stage_order",
    ),
    path("settings/stages/<int:pk>/", settings_views.stage_edit, name="settings_stage"),
    path("settings/stages/<int:pk>/move/", settings_views.stage_move, name="settings_stage_move"),
    path(
        "settings/stages/<int:pk>/delete/",
        settings_views.stage_delete,
        name="settings_stage_delete",
    ),
    path("settings/currencies/", settings_views.currencies, name="settings_currencies"),
]

for kind in settings_views.NAMED_LISTS:
    name = kind.replace("-", "_")
    settings_urls += [
        path(
            f"settings/{kind}/",
            settings_views.named_list,
            {"kind": kind},
            name=f"settings_{name}",
        ),
        path(
            f"settings/{kind}/<int:pk>/",
            settings_views.named_edit,
            {"kind": kind},
            name=f"settings_{name}_edit",
        ),
        path(
            f"settings/{kind}/<int:pk>/toggle/",
            settings_views.named_toggle,
            {"kind": kind},
            name=f"settings_{name}_toggle",
        ),
        path(
            f"settings/{kind}/<int:pk>/delete/",
            settings_views.named_delete,
            {"kind": kind},
            name=f"settings_{name}_delete",
        ),
    ]

urlpatterns = password_reset_urls + account_urls + settings_urls
