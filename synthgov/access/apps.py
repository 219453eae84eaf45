from django.apps import AppConfig


class AccessConfig(AppConfig):
    """No models of its own: it changes the ``accounts`` app's (and Django's users
    and groups) and writes each change to the trail, so it sits above both."""

    name = "synthgov.access"
    label = "access"
    verbose_name = "Sign-in and access changes"
