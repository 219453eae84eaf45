"""Choosing where stored files live, from the environment."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from synthgov.env import env_choice, s3_storage_from_env
from tests.test_settings import run_django

SHOW = (
    "-c",
    "import django; django.setup(); from django.conf import settings; "
    "d = settings.STORAGES['default']; o = d.get('OPTIONS', {}); "
    "print(d['BACKEND'], o.get('bucket_name'), o.get('endpoint_url'), o.get('location'), "
    "o.get('file_overwrite'), o.get('default_acl'), o.get('client_config') and "
    "o['client_config'].s3['addressing_style'])",
)


def test_without_settings_files_stay_in_the_local_folder():
    result = run_django({}, *SHOW)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "django.core.files.storage.FileSystemStorage"


def test_s3_is_chosen_and_configured_by_environment_variables():
    result = run_django(
        {
            "SYNTHGOV_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": "synthgov-files",
            "AWS_S3_ENDPOINT_URL": "http://seaweedfs:8333",
            "AWS_LOCATION": "/prod/",
        },
        *SHOW,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "synthgov.storage.S3Storage",
        "synthgov-files",
        "http://seaweedfs:8333",
        "prod",
        "False",  # content-addressed names are never overwritten
        "None",  # no ACL sent: objects are as private as the bucket
        "path",  # S3-compatible servers on one host
    ]


def test_s3_without_a_bucket_stops_at_start_up_saying_what_to_set():
    result = run_django({"SYNTHGOV_STORAGE": "s3"})
    assert result.returncode != 0
    assert "AWS_STORAGE_BUCKET_NAME" in result.stderr


def test_an_unknown_storage_is_refused():
    with pytest.raises(ImproperlyConfigured, match="SYNTHGOV_STORAGE='ftp' is not one of"):
        env_choice(
            "SYNTHGOV_STORAGE", "local", ("local", "s3"), environ={"SYNTHGOV_STORAGE": "ftp"}
        )


def test_amazon_s3_itself_uses_the_default_addressing():
    options = s3_storage_from_env(environ={"AWS_STORAGE_BUCKET_NAME": "b"})["OPTIONS"]
    assert options["endpoint_url"] is None
    assert options["client_config"].s3["addressing_style"] == "auto"
    with pytest.raises(ImproperlyConfigured, match="AWS_S3_CONNECT_TIMEOUT"):
        s3_storage_from_env(
            environ={"AWS_STORAGE_BUCKET_NAME": "b", "AWS_S3_CONNECT_TIMEOUT": "soon"}
        )
