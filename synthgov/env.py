"""Typed readers for configuration held in environment variables.

Every reader fails loudly with the variable's name and what was wrong, so a
typo in production stops the process at start-up instead of being ignored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    return (os.environ if environ is None else environ).get(name)


def env_str(name: str, default: str = "", *, environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    return default if value is None else value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off."
    )


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip().replace("_", ""))
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def env_list(
    name: str, default: list[str], *, environ: Mapping[str, str] | None = None
) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2}
_SIZE_UNITS |= {"g": 1024**3, "gb": 1024**3}


def env_bytes(name: str, default: int, *, environ: Mapping[str, str] | None = None) -> int:
    """A size such as ``500MB``, ``2G`` or ``1048576`` (binary units)."""
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return default
    text = value.strip().lower().replace("_", "")
    digits = text.rstrip("kmgb")
    unit = text[len(digits) :]
    if not digits.isdigit() or unit not in _SIZE_UNITS:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a size: write a number of bytes, or e.g. 500MB or 2GB."
        )
    size = int(digits) * _SIZE_UNITS[unit]
    if size <= 0:
        raise ImproperlyConfigured(f"{name}={value!r} must be larger than zero.")
    return size


def env_database(
    name: str, default: str, *, environ: Mapping[str, str] | None = None
) -> dict[str, object]:
    """Parse a database URL (postgres://… or sqlite:///…) into Django's form."""
    import dj_database_url

    url = env_str(name, default, environ=environ)
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(
            f"{name}={url!r} is not a supported database URL: use "
            "postgres://USER:PASSWORD@HOST:PORT/NAME or sqlite:///PATH."
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={url!r} could not be parsed: {exc}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}={url!r} names no database.")
    return config


def env_cache(
    name: str, default: str, *, environ: Mapping[str, str] | None = None
) -> dict[str, object]:
    """Parse a cache URL into Django's form: ``redis://HOST:PORT/DB`` (or
    ``rediss://``), a cache every web process shares; ``locmem://``, one per process."""
    url = env_str(name, default, environ=environ) or default
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme in {"redis", "rediss"}:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    raise ImproperlyConfigured(
        f"{name}={url!r} is not a supported cache URL: use redis://HOST:PORT/DB "
        "(shared by every web process) or locmem:// (one cache per process)."
    )


def env_choice(
    name: str, default: str, choices: tuple[str, ...], *, environ: Mapping[str, str] | None = None
) -> str:
    """One of ``choices`` (compared in lower case)."""
    value = env_str(name, default, environ=environ).strip().lower() or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of: {', '.join(choices)}.")
    return value


S3_PART_BYTES = 8 * 1024**2
"""Uploads to S3 go in parts of this size, at most ``S3_UPLOAD_THREADS`` at once:
an upload holds about ``S3_PART_BYTES * S3_UPLOAD_PARTS_IN_MEMORY`` in memory."""
S3_UPLOAD_THREADS = 2
S3_UPLOAD_PARTS_IN_MEMORY = S3_UPLOAD_THREADS + 1
"""Parts read ahead of the upload threads (s3transfer's default is 10: 80 MiB)."""


def _transfer_config(config_class: type) -> object:
    config = config_class(
        multipart_threshold=S3_PART_BYTES,
        multipart_chunksize=S3_PART_BYTES,
        max_concurrency=S3_UPLOAD_THREADS,
    )
    config.max_in_memory_upload_chunks = S3_UPLOAD_PARTS_IN_MEMORY
    return config


def s3_storage_from_env(*, environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """``STORAGES["default"]`` for ``SYNTHGOV_STORAGE=s3``: an S3 bucket through
    django-storages (``synthgov.storage.S3Storage``), from the AWS_* variables."""
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    bucket = env_str("AWS_STORAGE_BUCKET_NAME", environ=environ).strip()
    if not bucket:
        raise ImproperlyConfigured(
            "SYNTHGOV_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME (the bucket that holds the "
            "stored tables); set it, or SYNTHGOV_STORAGE=local for the local folder."
        )
    endpoint = env_str("AWS_S3_ENDPOINT_URL", environ=environ).strip() or None
    # S3-compatible servers (SeaweedFS, MinIO) answer on one host: path-style names.
    addressing = env_choice(
        "AWS_S3_ADDRESSING_STYLE",
        "path" if endpoint else "auto",
        ("auto", "path", "virtual"),
        environ=environ,
    )
    return {
        "BACKEND": "synthgov.storage.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint,
            "region_name": env_str("AWS_S3_REGION_NAME", "us-east-1", environ=environ),
            # None: boto3 finds credentials itself (instance role, ~/.aws).
            "access_key": env_str("AWS_ACCESS_KEY_ID", environ=environ) or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY", environ=environ) or None,
            "location": env_str("AWS_LOCATION", environ=environ).strip("/"),
            # Names are content hashes: an existing name already holds the same bytes.
            "file_overwrite": False,
            # No ACL is sent: objects are as private as the bucket (never make it public).
            "default_acl": None,
            "client_config": Config(
                s3={"addressing_style": addressing},
                signature_version="s3v4",
                connect_timeout=env_int("AWS_S3_CONNECT_TIMEOUT", 5, minimum=1, environ=environ),
                read_timeout=env_int("AWS_S3_READ_TIMEOUT", 60, minimum=1, environ=environ),
                retries={"mode": "standard", "max_attempts": 3},
            ),
            "transfer_config": _transfer_config(TransferConfig),
        },
    }
