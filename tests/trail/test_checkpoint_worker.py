"""The scheduled checkpoint task run by a real worker process."""

from __future__ import annotations

import pytest

from synthgov.signing.keys import generate_key_pem
from synthgov.trail.models import Checkpoint
from synthgov.trail.services import trail_record, trail_verify
from synthgov.trail.tasks import trail_checkpoint_task
from tests.worker import celery_worker, worker_log

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_signs_a_checkpoint(world, tmp_path, settings):
    from synthgov import signing_keys as keys

    key_file = tmp_path / "signing-keys.pem"
    key_file.write_text(generate_key_pem())
    settings.SYNTHGOV_SIGNING_KEYS_FILE = str(key_file)
    settings.SYNTHGOV_SIGNING_KEYS = ""
    keys.clear_cache()
    for i in range(3):
        trail_record(actor=world.curator_a, action=f"tests.step.{i}", organisation=world.org_a)
    with celery_worker(extra_env={"SYNTHGOV_SIGNING_KEYS_FILE": str(key_file)}) as (_, queue):
        result = trail_checkpoint_task.apply_async(queue=queue)
        try:
            seq = result.get(timeout=90)
        except Exception:
            pytest.fail(f"worker did not answer; its log:\n{worker_log(queue)}")
    assert seq == 3
    assert Checkpoint.objects.get().seq == 3
    # Signed by the worker, verified here with the same keyring.
    assert trail_verify().checkpoints == 1
    assert trail_verify().ok
    keys.clear_cache()
