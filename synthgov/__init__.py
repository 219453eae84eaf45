"""SynthGov: registry, audits and certification of synthetic datasets.

The Celery app is loaded lazily, so ``python -m synthgov.verify`` (the
offline certificate verifier) imports neither Celery nor Django. Django
processes load it when the audits app is ready; ``celery -A synthgov`` finds
it in ``synthgov.celery``.
"""

from typing import Any

__all__ = ["celery_app"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "celery_app":
        from synthgov.celery import app

        return app
    raise AttributeError(f"module 'synthgov' has no attribute {name!r}")
