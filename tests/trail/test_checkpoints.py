"""Signed checkpoints: the anchor outside the database (issue 11).

Each of the four rewrites below is consistent within the database (hashes
recomputed, head moved to match); what catches it is a checkpoint signed
before the rewrite, stored in the database or kept by someone else.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from synthgov.trail.models import Checkpoint, Event, TrailHead
from synthgov.trail.services import (
    TrailBrokenError,
    checkpoint_create,
    trail_record,
    trail_verify,
)
from tests.audits.certification.helpers import signing_keys  # noqa: F401  (fixture)
from tests.trail.test_tamper import rehash_from

REWRITES = ["delete_newest", "edit_newest", "rewrite_middle", "move_organisation"]


@pytest.fixture
def chain(world, signing_keys):  # noqa: F811
    for i in range(6):
        trail_record(
            actor=world.curator_a,
            action=f"tests.step.{i}",
            organisation=world.org_a,
            payload={"i": i},
        )
    return world


def rewrite(kind: str, world) -> None:
    """Tamper as an attacker with database access and no signing key would."""
    if kind == "delete_newest":
        Event.objects.filter(seq__gte=5).delete()
        last = Event.objects.get(seq=4)
        TrailHead.objects.filter(id=1).update(last_seq=4, last_hash=last.hash)
    elif kind == "edit_newest":
        Event.objects.filter(seq=6).update(payload={"i": "forged"})
        rehash_from(6)
    elif kind == "rewrite_middle":
        Event.objects.filter(seq=3).update(action="tests.forged", object_repr="forged")
        rehash_from(3)
    elif kind == "move_organisation":
        # Moved, and the hashed ids and labels moved too, then re-hashed: a
        # consistent rewrite of the organisation of events 2..6.
        Event.objects.filter(seq__gte=2).update(
            organisation=world.org_b,
            organisation_ref=world.org_b.pk,
            organisation_label=str(world.org_b),
        )
        rehash_from(2)


@pytest.mark.parametrize("kind", REWRITES)
def test_rewrite_is_caught_by_the_stored_checkpoint(chain, kind):
    assert checkpoint_create().seq == 6
    rewrite(kind, chain)
    result = trail_verify()
    assert not result.ok, kind
    assert "checkpoint" in result.problem
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("verify_trail")


@pytest.mark.parametrize("kind", REWRITES)
def test_rewrite_is_caught_by_a_kept_checkpoint_after_the_stored_ones_are_deleted(
    chain, kind, tmp_path
):
    kept = tmp_path / "kept.json"
    call_command("trail_checkpoint", output=kept)
    rewrite(kind, chain)
    Checkpoint.objects.all().delete()
    # Within the database the rewrite is consistent: nothing left to catch it...
    assert trail_verify().ok
    # ...but the checkpoint someone kept does.
    with pytest.raises(CommandError, match="kept checkpoint at #6"):
        call_command("verify_trail", checkpoint=[kept])


@pytest.mark.parametrize("kind", REWRITES)
def test_offline_verifier_catches_the_rewrite_in_an_exported_trail(chain, kind, tmp_path, client):
    kept = tmp_path / "kept.json"
    kept.write_bytes(b"")
    checkpoint_create()
    kept.write_bytes(client.get(reverse("trail:checkpoint_latest")).content)
    keys = tmp_path / "keys.json"
    keys.write_bytes(client.get(reverse("public_keys")).content)

    def offline() -> subprocess.CompletedProcess:
        export = tmp_path / "trail.jsonl"
        call_command("export_trail", export)
        args = [str(export), "--checkpoint", str(kept), "--public-key", str(keys)]
        return subprocess.run(
            [sys.executable, "-m", "synthgov.verify_trail", *args],
            capture_output=True,
            text=True,
            check=False,
        )

    intact = offline()
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.startswith("INTACT: 6 event(s), matching 1 signed checkpoint(s)")
    rewrite(kind, chain)
    broken = offline()
    assert broken.returncode == 1, broken.stderr
    assert broken.stdout.startswith("BROKEN")


def test_events_after_the_checkpoint_still_verify(chain, tmp_path):
    kept = tmp_path / "kept.json"
    call_command("trail_checkpoint", output=kept)
    trail_record(actor=chain.curator_a, action="tests.after", organisation=chain.org_a)
    call_command("trail_checkpoint")
    result = trail_verify(external=[json.loads(kept.read_bytes())])
    assert result.ok, result.problem
    assert (result.checked, result.checkpoints) == (7, 3)


def test_checkpoint_is_not_signed_again_when_nothing_changed(chain):
    assert checkpoint_create() is not None
    assert checkpoint_create() is None
    assert Checkpoint.objects.count() == 1


def test_a_rewrite_is_never_signed(chain):
    checkpoint_create()
    trail_record(actor=chain.curator_a, action="tests.after", organisation=chain.org_a)
    Event.objects.filter(seq=7).update(payload={"forged": True})
    with pytest.raises(TrailBrokenError):
        checkpoint_create()
    with pytest.raises(CommandError, match="No checkpoint signed"):
        call_command("trail_checkpoint")
    assert Checkpoint.objects.count() == 1


def test_a_forged_stored_checkpoint_is_refused(chain):
    """An attacker without the key cannot plant a checkpoint of their rewrite."""
    checkpoint = checkpoint_create()
    Checkpoint.objects.filter(pk=checkpoint.pk).update(head_hash="f" * 64)
    result = trail_verify()
    assert not result.ok
    assert "signature does not match" in result.problem


def test_a_checkpoint_signed_by_another_key_is_refused(chain, tmp_path, settings):
    from synthgov import signing_keys as keys
    from synthgov.signing.keys import generate_key_pem

    other = tmp_path / "other.pem"
    other.write_text(generate_key_pem())
    original = settings.SYNTHGOV_SIGNING_KEYS_FILE
    settings.SYNTHGOV_SIGNING_KEYS_FILE = str(other)
    keys.clear_cache()
    foreign = checkpoint_create().document()
    Checkpoint.objects.all().delete()
    settings.SYNTHGOV_SIGNING_KEYS_FILE = original
    keys.clear_cache()
    result = trail_verify(external=[foreign])
    assert not result.ok
    assert "unknown key" in result.problem


def test_beat_task_signs_a_checkpoint(chain):
    from django.conf import settings

    from synthgov.trail.tasks import trail_checkpoint_task

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "trail.checkpoint" in scheduled
    assert trail_checkpoint_task.apply().get() == 6
    assert trail_checkpoint_task.apply().get() is None


def test_checkpoint_export_is_public_and_discloses_only_count_hash_and_time(chain, client):
    checkpoint_create()
    trail_record(actor=chain.curator_a, action="tests.after", organisation=chain.org_a)
    checkpoint_create()
    response = client.get(reverse("trail:checkpoints"))
    assert response.status_code == 200
    data = response.json()
    assert [c["checkpoint"]["seq"] for c in data["checkpoints"]] == [6, 7]
    for document in data["checkpoints"]:
        statement = document["checkpoint"]
        assert set(statement) == {"type", "seq", "head_hash", "created", "canonicalization"}
        assert statement["canonicalization"] == "RFC8785"
        assert set(document["signature"]) == {"alg", "kid", "value"}
    assert "curator_a" not in response.content.decode()
    later = client.get(reverse("trail:checkpoints"), {"after": 6}).json()
    assert [c["checkpoint"]["seq"] for c in later["checkpoints"]] == [7]
    for bad in ("x", "-1", "1e3", "9" * 30, "٣"):
        assert client.get(reverse("trail:checkpoints"), {"after": bad}).status_code == 400


def test_latest_checkpoint_is_404_before_the_first(world, client):
    assert client.get(reverse("trail:checkpoint_latest")).status_code == 404


def test_checkpoints_signed_before_a_key_rotation_still_verify(chain, signing_keys):  # noqa: F811
    from synthgov import signing_keys as keys
    from synthgov.signing.keys import rotated_keyring_text

    checkpoint_create()
    signing_keys.write_text(rotated_keyring_text(signing_keys.read_text()))
    keys.clear_cache()
    trail_record(actor=chain.curator_a, action="tests.after", organisation=chain.org_a)
    checkpoint_create()
    kids = set(Checkpoint.objects.values_list("kid", flat=True))
    assert len(kids) == 2
    result = trail_verify()
    assert result.ok, result.problem
    assert result.checkpoints == 2


def test_checkpoint_admin_is_read_only(chain, client):
    checkpoint = checkpoint_create()
    client.force_login(chain.admin_a)
    assert client.get(reverse("admin:trail_checkpoint_changelist")).status_code == 200
    response = client.post(
        reverse("admin:trail_checkpoint_delete", args=[checkpoint.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Checkpoint.objects.count() == 1


def test_a_kept_checkpoints_export_is_accepted_whole(chain, client, tmp_path, capsys):
    checkpoint_create()
    trail_record(actor=chain.curator_a, action="tests.after", organisation=chain.org_a)
    checkpoint_create()
    kept = tmp_path / "checkpoints.json"
    kept.write_bytes(client.get(reverse("trail:checkpoints")).content)
    Checkpoint.objects.all().delete()
    call_command("verify_trail", checkpoint=[kept])
    assert "intact: 7 event(s), matching 2 signed checkpoint(s)" in capsys.readouterr().out
    Event.objects.filter(seq__gte=7).delete()
    TrailHead.objects.filter(id=1).update(last_seq=6, last_hash=Event.objects.get(seq=6).hash)
    with pytest.raises(CommandError, match="kept checkpoint at #7"):
        call_command("verify_trail", checkpoint=[kept])


def test_a_checkpoint_file_with_duplicate_keys_is_refused(chain, tmp_path):
    checkpoint = checkpoint_create().document()
    text = json.dumps(checkpoint)
    kept = tmp_path / "kept.json"
    kept.write_text(text[:-1] + ', "checkpoint": {}}')
    with pytest.raises(CommandError, match="duplicate key"):
        call_command("verify_trail", checkpoint=[kept])


def test_no_checkpoint_without_a_signing_key(chain, settings):
    from synthgov import signing_keys as keys

    settings.DEBUG = False
    settings.SYNTHGOV_SIGNING_KEYS_FILE = ""
    keys.clear_cache()
    with pytest.raises(CommandError, match="No checkpoint signed: No certificate signing key"):
        call_command("trail_checkpoint")
    assert not Checkpoint.objects.exists()


def test_offline_verifier_imports_no_django():
    code = (
        "import sys, synthgov.verify_trail\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'celery'})\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_a_checkpoint_signed_before_rfc8785_keeps_verifying(chain, client, tmp_path):
    """Migration path: a stored checkpoint signed over the legacy canonical form
    (canonicalization "") verifies in the app and offline; one signed now says
    RFC8785, and clearing that marker breaks its signature."""
    from synthgov.signing.checkpoints import checkpoint_sign, checkpoint_statement
    from synthgov.signing_keys import signing_keyring

    new = checkpoint_create()
    assert new.canonicalization == "RFC8785"
    assert new.document()["checkpoint"]["canonicalization"] == "RFC8785"
    legacy_statement = checkpoint_statement(
        seq=new.seq,
        head_hash=new.head_hash,
        created=new.created.isoformat(),
        canonicalization="",
    )
    legacy = checkpoint_sign(legacy_statement, signing_keyring().current)
    assert legacy["signature"]["value"] != new.signature
    Checkpoint.objects.filter(pk=new.pk).update(
        canonicalization="", signature=legacy["signature"]["value"]
    )
    assert trail_verify().ok

    kept = tmp_path / "kept.json"
    kept.write_bytes(client.get(reverse("trail:checkpoint_latest")).content)
    assert "canonicalization" not in json.loads(kept.read_bytes())["checkpoint"]
    (tmp_path / "keys.json").write_bytes(client.get(reverse("public_keys")).content)
    call_command("export_trail", tmp_path / "trail.jsonl")
    args = [str(tmp_path / "trail.jsonl"), "--checkpoint", str(kept)]
    offline = subprocess.run(
        [
            sys.executable,
            "-m",
            "synthgov.verify_trail",
            *args,
            "--public-key",
            str(tmp_path / "keys.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert offline.returncode == 0, offline.stdout + offline.stderr

    # A legacy signature claimed as RFC 8785 (or the reverse) does not verify.
    Checkpoint.objects.filter(pk=new.pk).update(canonicalization="RFC8785")
    result = trail_verify()
    assert not result.ok and "signature does not match" in result.problem
