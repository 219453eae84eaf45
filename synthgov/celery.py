"""The Celery application, configured from Django settings (``CELERY_`` names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synthgov.settings")

app = Celery("synthgov")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's ``tasks`` module, and those of the audits app's concerns.
app.autodiscover_tasks()
app.autodiscover_tasks(
    ["audits.runs", "audits.compliance", "audits.certification", "audits.provenance"]
)


@app.task(name="synthgov.ping")
def ping() -> dict[str, object]:
    """Round trip through broker, worker, database and result backend."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (one,) = cursor.fetchone()
    return {"pong": True, "database": one == 1}
