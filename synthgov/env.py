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
