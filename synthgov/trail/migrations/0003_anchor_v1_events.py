"""Cover the links of events hashed before v2 (see ``synthgov.trail.chain``).

Copies each existing (v1) event's actor and organisation ids into the hashed
``actor_ref``/``organisation_ref`` columns and appends one v2 event,
``trail.format.upgraded``, holding their number and a SHA-256 over their
(seq, actor_ref, organisation_ref). From then on moving a v1 event to another
organisation or actor is detected like moving a v2 one.
"""

from datetime import UTC

from django.db import migrations
from django.db.models import F
from django.utils import timezone

from synthgov.trail.chain import UPGRADE_ACTION, V1Links, record_hash


def anchor_v1_events(Event, TrailHead) -> None:
    """Also called by tests, with the current models, on v1 rows they wrote."""
    v1 = Event.objects.filter(hash_version=1)
    if not v1.exists():
        return
    v1.update(actor_ref=F("actor_id"), organisation_ref=F("organisation_id"))
    links = V1Links()
    for row in v1.order_by("seq").values("seq", "actor_ref", "organisation_ref").iterator():
        links.add(row)
    head, _ = TrailHead.objects.select_for_update().get_or_create(id=1)
    event = Event(
        seq=head.last_seq + 1,
        created=timezone.now().astimezone(UTC),
        actor_label="system",
        action=UPGRADE_ACTION,
        payload=links.payload(),
        prev_hash=head.last_hash,
        hash_version=2,
    )
    event.hash = record_hash(
        {
            "seq": event.seq,
            "created": event.created.isoformat(),
            "actor_ref": None,
            "actor_label": event.actor_label,
            "action": event.action,
            "object_type": "",
            "object_id": "",
            "object_repr": "",
            "organisation_ref": None,
            "organisation_label": "",
            "payload": event.payload,
            "prev_hash": event.prev_hash,
            "hash_version": 2,
        }
    )
    event.save(force_insert=True)
    TrailHead.objects.filter(id=1).update(last_seq=event.seq, last_hash=event.hash)


def forwards(apps, schema_editor) -> None:
    anchor_v1_events(apps.get_model("trail", "Event"), apps.get_model("trail", "TrailHead"))


class Migration(migrations.Migration):
    dependencies = [("trail", "0002_hash_v2_and_checkpoints")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
