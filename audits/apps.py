from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = "Audits and compliance"

    def ready(self) -> None:
        # Tasks queued by the web process go through SynthGov's Celery app
        # (its broker settings), not Celery's default app.
        import synthgov.celery  # noqa: F401

        # The receiver that reviews certificates when a new dataset version may
        # replace a parent.
        from audits.certification import signals as certificate_signals  # noqa: F401
