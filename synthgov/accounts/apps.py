from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "synthgov.accounts"
    label = "accounts"
    verbose_name = "Organisations and roles"
