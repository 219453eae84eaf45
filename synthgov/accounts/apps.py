from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "synthgov.accounts"
    label = "accounts"
    verbose_name = "Organisations and roles"

    def ready(self) -> None:
        # Registers the deploy checks (SECRET_KEY) with Django's check framework.
        from synthgov import security  # noqa: F401
