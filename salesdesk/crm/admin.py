from django.contrib import admin
from django.db import models

from salesdesk.core.admin import ReadOnlyAdmin
from salesdesk.crm.models import Company, Contact, ContactEmail, ContactPhone, Tag

# Addresses typed without a scheme get https://, Django 6's default.
URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "color"]
    search_fields = ["name"]


@admin.register(Company)
class CompanyAdmin(ReadOnlyAdmin):
    list_display = ["name", "domain", "industry", "country", "owner"]
    list_select_related = ["owner"]
    search_fields = ["name", "domain"]
    formfield_overrides = URL_FIELDS


class ContactEmailInline(admin.TabularInline):
    model = ContactEmail
    extra = 0


class ContactPhoneInline(admin.TabularInline):
    model = ContactPhone
    extra = 0


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "title", "company", "owner"]
    list_select_related = ["company", "owner"]
    search_fields = ["first_name", "last_name", "emails__email"]
    inlines = [ContactEmailInline, ContactPhoneInline]
    formfield_overrides = URL_FIELDS
