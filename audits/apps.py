from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = "Audits and compliance"

    def ready(self) -> None:
        # Tasks sent or run in this process go through SynthGov's Celery app (its
        # broker settings), not Celery's default app.
        import synthgov.celery  # noqa: F401

        # Receivers of the registry's signals, connected once the models are loaded:
        # certificates react to new versions and to stored files found altered or
        # missing; the version page gets its audit, collapse and watermark panels.
        from audits import version_page  # noqa: F401
        from audits.certification import signals  # noqa: F401
