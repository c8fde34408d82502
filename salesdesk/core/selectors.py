from django.db.models import Model, QuerySet

from salesdesk.core.models import AuditEntry


def audit_trail(*, record: Model) -> QuerySet[AuditEntry]:
    """The changes of one record, newest first. Callers load `record` through visibility first."""
    return (
        AuditEntry.objects.filter(entity=record._meta.label_lower, entity_id=record.pk)
        .select_related("actor")
        .order_by("-at", "-id")
    )
