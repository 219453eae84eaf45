"""``synthgov.client.Client`` against the live test server: the server's words in
every error, retries only where resending is safe, waits that end, no token shown."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from audits.runs import services as audit_services
from registry.models import Dataset
from synthgov.client import AuditFailed, Client, SynthGovError, UsageError, WaitTimeout
from tests.audits.conftest import placements, register
from tests.client.conftest import make_token
from tests.registry.conftest import make_dataset
from tests.worker import ROOT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("registry_storage")]


@pytest.fixture
def api(world, live_server) -> Iterator[Client]:
    with Client(live_server.url, make_token(world.curator_a), retries=0) as client:
        yield client


def test_the_client_imports_only_the_standard_library_and_httpx():
    code = "import json, sys, synthgov.client; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    tops = {name.split(".")[0] for name in json.loads(out)}
    ours = {name for name in json.loads(out) if name.split(".")[0] == "synthgov"}
    assert ours == {"synthgov", "synthgov.client", "synthgov.client.api", "synthgov.client.gate"}
    for heavy in ("django", "rest_framework", "celery", "pandas", "numpy", "audits", "registry"):
        assert heavy not in tops


def test_a_refused_field_carries_the_servers_message_and_the_valid_choices(api):
    with pytest.raises(SynthGovError) as refused:
        api.create_dataset("X", kind="synthetic", domain="education", licence="CC0-1.0")
    error = refused.value
    assert error.status == 400 and error.is_client_error
    assert error.fields["kind"] == [
        '"synthetic" is not a valid choice; choose one of: real, fully_synthetic, '
        "partially_synthetic, hybrid."
    ]
    assert str(error) == (
        "The server refused the request (400 on POST /api/v1/datasets/): kind: "
        '"synthetic" is not a valid choice; choose one of: real, fully_synthetic, '
        "partially_synthetic, hybrid."
    )
    assert not Dataset.objects.exists()


def test_an_unknown_or_unreadable_version_is_a_404_with_the_same_words(world, api, live_server):
    hidden = register(
        make_dataset(world, org="org_b", name="B real", kind="real"),
        world.curator_b,
        placements()[0],
    )
    messages = []
    for version_id in (hidden.pk, 987654):
        with pytest.raises(SynthGovError) as missing:
            api.version(version_id)
        assert missing.value.status == 404
        messages.append(str(missing.value).replace(f"/{version_id}/", "/N/"))
    assert messages[0] == messages[1] == "Not found (404 on GET /api/v1/versions/N/): Not found."


def test_upload_lineage_round_trip_and_find_by_exact_name(world, api, tmp_path):
    real_frame, synthetic_frame = placements()
    real = register(
        make_dataset(world, name="Placements", kind="real"), world.curator_a, real_frame
    )
    make_dataset(world, name="Placements (synthetic) old", kind="fully_synthetic")
    dataset = api.create_dataset(
        "Placements (synthetic)", kind="fully_synthetic", domain="education", licence="CC0-1.0"
    )
    # `q` searches names by substring; find_dataset wants the exact name.
    assert api.find_dataset("Placements (synthetic)")["id"] == dataset["id"]
    assert api.find_dataset("Placements (synth") is None

    file = tmp_path / "synthetic.csv"
    synthetic_frame.to_csv(file, index=False)
    version = api.upload_version(
        dataset,
        file,
        note="run 7",
        parents=[(real.pk, "trained_on")],
        generation={"generator_type": "copula", "generator_library": "sdv"},
    )
    assert version["note"] == "run 7" and version["row_count"] == len(synthetic_frame)
    assert [(p["parent"], p["relation"]) for p in version["parents"]] == [(real.pk, "trained_on")]
    # Declaring parents again keeps the generation facts already recorded.
    again = api.set_lineage(version, parents=[(real.pk, "derived_from")])
    assert again["generation"]["generator_library"] == "sdv"
    assert again["parents"][0]["relation"] == "derived_from"

    # The datasheet as GET returns it goes back through PUT unchanged.
    sheet = api.set_datasheet(version, {"motivation": "Prototype models without real records."})
    assert sheet["completeness"] > 0
    assert api.set_datasheet(version, api.get(f"/versions/{version['id']}/datasheet/")) == sheet

    with pytest.raises(SynthGovError) as wrong:
        api.set_lineage(version, parents=[(real.pk, "synthetic")])
    assert wrong.value.fields["parents.0.relation"][0].startswith(
        '"synthetic" is not a valid choice; choose one of: '
    )
    with pytest.raises(UsageError, match="No such file"):
        api.upload_version(dataset, tmp_path / "missing.csv")


def test_waiting_for_a_failed_audit_raises_with_the_servers_reason(placements_world, api):
    run = audit_services.audit_run_request(
        version=placements_world["synthetic"],
        reference=placements_world["real"],
        holdout=None,
        config=audit_services.default_config(placements_world["synthetic"]),
        user=placements_world["world"].curator_a,
        enqueue=False,
    )
    heard = []
    with pytest.raises(WaitTimeout) as late:
        api.wait_for_audit(run.pk, timeout=0.3, poll_interval=0.1, progress=heard.append)
    assert str(late.value) == (
        f"Audit #{run.pk} is still queued after 0 s (0% done); it goes on running on the server."
    )
    assert [p.line().split(" [")[0] for p in heard] == [f"audit #{run.pk}: queued"]

    token = audit_services.audit_run_claim(run_id=run.pk)
    audit_services.audit_run_fail(run_id=run.pk, token=token, message="The reference file is gone.")
    with pytest.raises(AuditFailed) as failed:
        api.wait_for_audit(run.pk, timeout=5, poll_interval=0.1, progress=None)
    assert str(failed.value) == f"Audit #{run.pk} failed: The reference file is gone."
    assert failed.value.audit["status"] == "failed"


# --- Transient failures: a proxy in front of the live server ------------------


class FlakyProxy:
    """A real HTTP server in front of the live server that answers ``failures`` (a
    list of statuses, first come first served) before passing requests through."""

    def __init__(self, upstream: str, failures: list[int]) -> None:
        self.upstream = upstream
        self.failures = list(failures)
        self.seen: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.seen.append(self.command)
                if proxy.failures:
                    status = proxy.failures.pop(0)
                    payload = b'{"detail": "Upstream is restarting."}'
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                }
                answer = httpx.request(
                    self.command, proxy.upstream + self.path, headers=headers, content=body
                )
                self.send_response(answer.status_code)
                for key in ("Content-Type",):
                    if key in answer.headers:
                        self.send_header(key, answer.headers[key])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky(live_server) -> Iterator[Any]:
    proxies: list[FlakyProxy] = []

    def make(*failures: int) -> FlakyProxy:
        proxies.append(FlakyProxy(live_server.url, list(failures)))
        return proxies[-1]

    yield make
    for proxy in proxies:
        proxy.close()


def test_a_read_is_resent_after_503_and_502_and_gives_up_when_retries_run_out(world, flaky):
    token = make_token(world.curator_a)
    proxy = flaky(503, 502)
    with Client(proxy.url, token, retries=2, backoff=0.01) as client:
        assert client.me()["username"] == "curator_a"
    assert proxy.seen == ["GET", "GET", "GET"]

    proxy = flaky(503, 503)
    with (
        Client(proxy.url, token, retries=1, backoff=0.01) as client,
        pytest.raises(SynthGovError) as down,
    ):
        client.me()
    assert down.value.status == 503 and not down.value.is_client_error
    assert str(down.value) == (
        "The server failed (503 on GET /api/v1/me/): Upstream is restarting."
    )
    assert proxy.seen == ["GET", "GET"]


def test_a_post_is_not_resent_after_a_502_it_may_have_been_carried_out(world, flaky):
    proxy = flaky(502)
    with Client(proxy.url, make_token(world.curator_a), retries=3, backoff=0.01) as client:
        with pytest.raises(SynthGovError) as bad_gateway:
            client.create_dataset("D", kind="real", domain="education", licence="CC0-1.0")
        assert bad_gateway.value.status == 502
        assert proxy.seen == ["POST"]
        # A 503 means "not taken": that one is resent, and the dataset registered once.
        proxy.failures = [503]
        created = client.create_dataset("D", kind="real", domain="education", licence="CC0-1.0")
    assert proxy.seen == ["POST", "POST", "POST"]
    assert list(Dataset.objects.values_list("pk", flat=True)) == [created["id"]]


def test_the_token_is_in_no_message_and_no_repr(world, live_server):
    token = make_token(world.curator_a)
    client = Client(live_server.url + "/api/v1/", token, retries=0)
    assert repr(client) == f"Client({live_server.url!r})"
    with pytest.raises(SynthGovError) as missing:
        client.audit(987654)
    refused = Client(live_server.url, token[::-1], retries=0)
    with pytest.raises(SynthGovError) as wrong:
        refused.me()
    assert (
        str(wrong.value) == "The server refused the token (401 on GET /api/v1/me/): Invalid token."
    )
    for text in (repr(client), str(missing.value), str(wrong.value), repr(wrong.value)):
        assert token not in text and token[::-1] not in text
    client.close()
    refused.close()


def test_an_unreachable_server_and_a_malformed_url_are_named():
    with (
        Client("http://127.0.0.1:9", "t", retries=0) as client,
        pytest.raises(SynthGovError, match=r"^Could not connect to http://127.0.0.1:9: "),
    ):
        client.me()
    with pytest.raises(UsageError, match="must start with http:// or https://"):
        Client("synthgov.example.org", "t")
