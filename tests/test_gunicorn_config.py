"""deploy/gunicorn.conf.py read by gunicorn's own config loader, as `--config` does."""

from pathlib import Path

import pytest
from gunicorn.app.base import Application

CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"


class _Loaded(Application):
    def __init__(self) -> None:
        super().__init__(usage=None)

    def init(self, parser, opts, args):
        return None

    def load_config(self) -> None:
        self.load_config_from_file(str(CONFIG))

    def load(self):  # pragma: no cover - never served
        raise AssertionError("not served")


def test_web_workers_are_recycled_after_a_bounded_number_of_requests(monkeypatch):
    for name in ("GUNICORN_MAX_REQUESTS", "GUNICORN_MAX_REQUESTS_JITTER"):
        monkeypatch.delenv(name, raising=False)
    cfg = _Loaded().cfg
    assert cfg.max_requests == 1000
    assert cfg.max_requests_jitter == 100
    # Large uploads stream for minutes: the worker timeout must not cut them off.
    assert cfg.timeout >= 600


@pytest.mark.parametrize("value", ["250", "0"])
def test_recycling_is_set_from_the_environment(monkeypatch, value):
    monkeypatch.setenv("GUNICORN_MAX_REQUESTS", value)
    assert _Loaded().cfg.max_requests == int(value)
