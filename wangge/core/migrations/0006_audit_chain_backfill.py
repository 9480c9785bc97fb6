"""Chain the audit rows written before the hash chain existed, in id order."""

from django.db import migrations

from wangge.core.audit import audit_row_content, audit_row_hash

GENESIS_HASH = "0" * 64


def chain_existing_rows(apps, schema_editor):
    AuditLog = apps.get_model("core", "AuditLog")
    AuditChainHead = apps.get_model("core", "AuditChainHead")
    prev, last_id = GENESIS_HASH, None
    rows = AuditLog.objects.order_by("id").values(
        "id", "actor_id", "action", "target_type", "target_id", "details", "created_at"
    )
    for row in rows.iterator(chunk_size=2000):
        row_hash = audit_row_hash(
            prev,
            audit_row_content(
                actor_id=row["actor_id"],
                action=row["action"],
                target_type=row["target_type"],
                target_id=row["target_id"],
                details=row["details"],
                created_at=row["created_at"],
            ),
        )
        AuditLog.objects.filter(pk=row["id"]).update(prev_hash=prev, row_hash=row_hash)
        prev, last_id = row_hash, row["id"]
    AuditChainHead.objects.update_or_create(pk=1, defaults={"last_id": last_id, "last_hash": prev})


def forget_chain(apps, schema_editor):
    apps.get_model("core", "AuditChainHead").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0005_audit_hash_chain")]

    operations = [migrations.RunPython(chain_existing_rows, forget_chain)]
