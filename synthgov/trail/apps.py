from django.apps import AppConfig


class TrailConfig(AppConfig):
    name = "synthgov.trail"
    label = "trail"
    verbose_name = "Audit trail"
