from django.apps import AppConfig


class TrailConfig(AppConfig):
    name = "synthgov.trail"
    label = "trail"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        # The deploy check on the signing keys that sign checkpoints and certificates.
        from synthgov import signing_keys  # noqa: F401
