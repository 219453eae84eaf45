import pytest

from synthgov.celery import ping
from tests.worker import celery_worker, worker_log

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_runs_a_task_end_to_end(settings):
    with celery_worker() as (process, queue):
        result = ping.apply_async(queue=queue)
        try:
            value = result.get(timeout=90)
        except Exception:
            pytest.fail(f"worker did not answer; its log:\n{worker_log(queue)}")
        assert process.poll() is None
    assert value == {"pong": True, "database": True}
    # The result went through the database result backend, not memory.
    from django_celery_results.models import TaskResult

    stored = TaskResult.objects.get(task_id=result.id)
    assert stored.status == "SUCCESS"
    assert stored.task_name == "synthgov.ping"
