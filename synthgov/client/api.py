"""SynthGov's HTTP API from Python: a thin client on ``httpx``, no Django.

Every call is one request (or a short poll) against ``/api/v1/``; what the
server refuses comes back as a :class:`SynthGovError` carrying the server's own
words, so a pipeline's log says what to fix. The token travels only in the
``Authorization`` header: it is never part of a message, a ``repr`` or a log line.
"""

from __future__ import annotations

import contextlib
import email.utils
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx

API_PREFIX = "/api/v1"
# Answers worth asking again: the server is restarting or a proxy is in between.
RETRY_STATUSES = frozenset({502, 503, 504})
# A POST answered 502/504 may have been carried out; only 503 (not taken) is resent.
RETRY_STATUSES_UNSAFE = frozenset({503})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
FINISHED = frozenset({"succeeded", "failed", "cancelled"})


class SynthGovError(Exception):
    """Something the server (or the connection to it) refused.

    ``status``: the HTTP status, or None when no answer came. ``fields``: the
    server's messages by field (``{"file": ["..."]}``), empty for a plain
    ``detail``. ``str(error)`` is one readable sentence with the server's words.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        fields: Mapping[str, list[str]] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.fields = dict(fields or {})
        self.body = body

    @property
    def is_client_error(self) -> bool:
        """True when what was sent is wrong (4xx): sending it again will not help."""
        return self.status is not None and 400 <= self.status < 500


class UsageError(SynthGovError):
    """What the caller gave cannot work (no token, no such file, a malformed option):
    found before anything is sent."""


class NotApplicable(UsageError):
    """The standard does not apply to the dataset, so no evaluation will come."""


class AuditFailed(SynthGovError):
    """The audit ended failed or cancelled; ``audit`` is its last state."""

    def __init__(self, message: str, *, audit: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.audit = dict(audit)


class WaitTimeout(SynthGovError):
    """Waiting for an audit or an evaluation took longer than allowed."""


def api_messages(body: Any) -> tuple[str, dict[str, list[str]]]:
    """The server's error body as one sentence plus its messages by field.

    DRF answers ``{"detail": "..."}``, ``{"field": ["...", ...], ...}`` or, for a
    standard, ``{"problems": [...]}``; other keys an answer carries (an upload
    refusal's ``line``, say) are context, not messages, and are left out.
    """
    if not isinstance(body, Mapping):
        return "", {}
    parts: list[str] = []
    fields: dict[str, list[str]] = {}
    for key, value in body.items():
        if isinstance(value, str) and key in ("detail", "message"):
            parts.append(value)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            fields[key] = list(value)
            if key in ("non_field_errors", "problems", "detail"):
                parts.extend(value)
            else:
                parts.append(f"{key}: {' '.join(value)}")
        elif isinstance(value, Mapping):
            # A nested serializer's errors: {"parents": {"0": {"relation": [...]}}}.
            text, nested = api_messages(value)
            if text:
                parts.append(f"{key}: {text}")
                fields.update({f"{key}.{k}": v for k, v in nested.items()})
    return " ".join(parts), fields


def site_root(url: str) -> str:
    """``https://host/prefix`` from whatever the user gave (the site or its API root)."""
    url = url.strip().rstrip("/")
    if url.endswith(API_PREFIX):
        url = url[: -len(API_PREFIX)]
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"The server URL must start with http:// or https:// (got {url!r}).")
    return url


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Progress:
    """Where a wait is: what ``wait_for_audit`` reports to its ``progress`` callback."""

    audit: dict[str, Any]
    elapsed: float

    def line(self) -> str:
        audit = self.audit
        status = audit.get("status", "?")
        text = f"audit #{audit.get('id')}: {status}"
        if status == "running":
            text += f" {round(100 * float(audit.get('progress') or 0))}%"
            if audit.get("step"):
                text += f" ({audit['step']})"
            eta = audit.get("eta_seconds")
            if eta is not None:
                text += f", about {round(float(eta))} s left"
        return f"{text} [{self.elapsed:.0f} s]"


def stderr_progress(progress: Progress) -> None:
    print(progress.line(), file=sys.stderr, flush=True)


class Client:
    """A session with one SynthGov server as the user the token belongs to.

    ``url`` is the site (``https://synthgov.example.org``) or its API root;
    ``token`` the key ``manage.py drf_create_token`` printed. Transient failures
    (no connection, 502/503/504) are retried ``retries`` times with doubling
    waits from ``backoff`` seconds (honouring ``Retry-After``); a POST is resent
    only when it surely was not carried out (no connection, or 503).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not token:
            raise UsageError("No API token: pass one (or set SYNTHGOV_TOKEN).")
        self.site = site_root(url)
        self.retries = max(0, retries)
        self.backoff = backoff
        self._http = httpx.Client(
            base_url=self.site + API_PREFIX,
            headers={
                "Authorization": f"Token {token}",
                "Accept": "application/json",
                "User-Agent": "synthgov-client",
            },
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:  # never the token
        return f"Client({self.site!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def from_env(cls, url: str | None = None, token: str | None = None, **options: Any) -> Client:
        """A client from arguments, else ``SYNTHGOV_URL`` and ``SYNTHGOV_TOKEN``."""
        url = url or os.environ.get("SYNTHGOV_URL", "")
        token = token or os.environ.get("SYNTHGOV_TOKEN", "")
        if not url:
            raise UsageError("No server URL: pass --url (or set SYNTHGOV_URL).")
        return cls(url, token, **options)

    # --- HTTP ------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        upload: tuple[Path, Mapping[str, str]] | None = None,
        expect: Sequence[int] = (200,),
    ) -> Any:
        """Send one request (resent on transient failures) and return its JSON answer.

        ``upload`` is (file, form fields): the file goes as the multipart field
        ``file``, streamed from disk and reopened for each attempt.
        """
        method = method.upper()
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                with _upload_files(upload) as files:
                    response = self._http.request(
                        method,
                        path,
                        json=json,
                        params=params,
                        files=files,
                        data=dict(upload[1]) if upload else None,
                    )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                problem: SynthGovError = SynthGovError(
                    f"Could not connect to {self.site}: {_reason(exc)}."
                )
            except httpx.TimeoutException as exc:
                problem = SynthGovError(
                    f"{self.site} did not answer {method} {path} in time ({_reason(exc)})."
                )
                if method not in IDEMPOTENT:
                    raise problem from None
            except httpx.TransportError as exc:
                problem = SynthGovError(f"The connection to {self.site} failed: {_reason(exc)}.")
                if method not in IDEMPOTENT:
                    raise problem from None
            else:
                retryable = RETRY_STATUSES if method in IDEMPOTENT else RETRY_STATUSES_UNSAFE
                if response.status_code in expect:
                    return _json(response)
                problem = _error(response, method, path)
                if response.status_code not in retryable:
                    raise problem
                retry_after = _retry_after(response)
            if attempt >= self.retries:
                raise problem
            wait = self.backoff * 2**attempt
            time.sleep(min(30.0, retry_after if retry_after is not None else wait))
            attempt += 1

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list (``results`` page by page)."""
        page = 1
        while True:
            body = self.get(path, page=page, **params)
            if isinstance(body, list):  # an unpaginated list
                yield from body
                return
            yield from body.get("results", [])
            if not body.get("next"):
                return
            page += 1

    # --- Who ---------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """The token's user, with roles and permissions."""
        return self.get("/me/")

    # --- Datasets and versions ----------------------------------------------

    def datasets(self, **filters: Any) -> list[dict[str, Any]]:
        """Datasets you may see; filters as the API takes them (``q``, ``kind``, …)."""
        return list(self.pages("/datasets/", **filters))

    def find_dataset(self, name: str, *, organisation: str | None = None) -> dict[str, Any] | None:
        """The dataset named exactly ``name`` (of ``organisation``, a slug), or None.

        Raises when several organisations you see have a dataset of that name and
        none is named."""
        found = [
            d
            for d in self.datasets(q=name, organisation=organisation)
            if d["name"] == name and (organisation is None or d["organisation"] == organisation)
        ]
        if len(found) > 1:
            owners = ", ".join(sorted(d["organisation"] for d in found))
            raise UsageError(
                f"Several datasets are named {name!r} (organisations: {owners}); "
                "name the organisation."
            )
        return found[0] if found else None

    def create_dataset(
        self,
        name: str,
        *,
        kind: str,
        domain: str,
        licence: str,
        organisation: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Register a dataset (you must curate for its organisation)."""
        body = {"name": name, "kind": kind, "domain": domain, "licence": licence, **fields}
        if organisation:
            body["organisation"] = organisation
        return self.request("POST", "/datasets/", json=body, expect=(201,))

    def dataset(self, dataset_id: int) -> dict[str, Any]:
        return self.get(f"/datasets/{int(dataset_id)}/")

    def version(self, version_id: int) -> dict[str, Any]:
        return self.get(f"/versions/{int(version_id)}/")

    def upload_version(
        self,
        dataset: int | Mapping[str, Any],
        path: str | os.PathLike[str],
        *,
        note: str = "",
        encoding: str = "",
        missing_markers: str = "",
        parents: Sequence[tuple[int, str]] = (),
        generation: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Upload ``path`` (CSV or Parquet) as the dataset's next version.

        ``parents``: (version id, relation) pairs, e.g. ``[(8, "trained_on")]``,
        declared right after the upload, with ``generation`` facts if given.
        """
        file = Path(path)
        if not file.is_file():
            raise UsageError(f"No such file: {file}")
        dataset_id = _id(dataset)
        form = {"note": note, "encoding": encoding, "missing_markers": missing_markers}
        version = self.request(
            "POST",
            f"/datasets/{dataset_id}/versions/",
            upload=(file, {k: v for k, v in form.items() if v}),
            expect=(201,),
        )
        if parents or generation:
            version = self.set_lineage(version["id"], parents=parents, generation=generation)
        return version

    def set_lineage(
        self,
        version: int | Mapping[str, Any],
        *,
        parents: Sequence[tuple[int, str]],
        generation: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Declare the version's parents; generation facts already recorded are kept
        unless ``generation`` replaces them (GET, edit, PUT back)."""
        version_id = _id(version)
        current = self.get(f"/versions/{version_id}/lineage/")
        body = {
            "parents": [{"parent": int(p), "relation": r} for p, r in parents],
            "generation": {**(current.get("generation") or {}), **(generation or {})},
        }
        return self.request("PUT", f"/versions/{version_id}/lineage/", json=body)

    def set_datasheet(
        self, version: int | Mapping[str, Any], sections: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Write the version's datasheet: its sections by name (``motivation``,
        ``composition``, …) as ``GET /versions/{id}/datasheet/`` returns them, which
        may be sent back as it is. Answers the datasheet with its ``completeness``."""
        return self.request("PUT", f"/versions/{_id(version)}/datasheet/", json=dict(sections))

    # --- Audits ------------------------------------------------------------

    def request_audit(
        self,
        version: int | Mapping[str, Any],
        *,
        reference: int | Mapping[str, Any],
        holdout: int | Mapping[str, Any] | None = None,
        target: str | None = None,
        positive_outcome: str | None = None,
        protected: Sequence[str] | None = None,
        quasi_identifiers: Sequence[str] | None = None,
        sensitive: Sequence[str] | None = None,
        families: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        """Queue an audit of ``version`` against its real ``reference`` (and ``holdout``).

        Options left as None take the server's defaults (the version's column
        roles; every requestable family). Answers the queued audit.
        """
        body: dict[str, Any] = {"version": _id(version), "reference": _id(reference)}
        if holdout is not None:
            body["holdout"] = _id(holdout)
        options = {
            "target": target,
            "positive_outcome": positive_outcome,
            "protected": protected,
            "quasi_identifiers": quasi_identifiers,
            "sensitive": sensitive,
            "families": families,
            "seed": seed,
        }
        body.update(
            {
                k: list(v) if isinstance(v, list | tuple) else v
                for k, v in options.items()
                if v is not None
            }
        )
        return self.request("POST", "/audits/", json=body, expect=(202,))

    def audit(self, audit_id: int | Mapping[str, Any]) -> dict[str, Any]:
        return self.get(f"/audits/{_id(audit_id)}/")

    def wait_for_audit(
        self,
        audit_id: int | Mapping[str, Any],
        *,
        timeout: float = 1800.0,
        poll_interval: float = 2.0,
        progress: Callable[[Progress], None] | None = stderr_progress,
    ) -> dict[str, Any]:
        """Poll until the audit finishes; answer it when it succeeded.

        Raises :class:`AuditFailed` (with the server's reason) when it failed or
        was cancelled, :class:`WaitTimeout` after ``timeout`` seconds.
        ``progress`` hears each change of status, step or percentage.
        """
        started = time.monotonic()
        last: tuple[Any, ...] | None = None
        while True:
            audit = self.audit(audit_id)
            elapsed = time.monotonic() - started
            seen = (
                audit.get("status"),
                audit.get("step"),
                round(100 * (audit.get("progress") or 0)),
            )
            if progress is not None and seen != last:
                progress(Progress(audit, elapsed))
            last = seen
            status = audit.get("status")
            if status == "succeeded":
                return audit
            if status in FINISHED:
                reason = audit.get("error") or "the server gave no reason"
                raise AuditFailed(f"Audit #{audit['id']} {status}: {reason}", audit=audit)
            if elapsed >= timeout:
                raise WaitTimeout(
                    f"Audit #{audit['id']} is still {status} after {timeout:.0f} s "
                    f"({round(100 * (audit.get('progress') or 0))}% done); "
                    "it goes on running on the server."
                )
            time.sleep(min(poll_interval, max(0.05, timeout - elapsed)))

    def figures(self, audit_id: int | Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every figure of the audit: key, value, status, finding, details, skip reason."""
        return self.get(f"/audits/{_id(audit_id)}/metrics/")

    def results(self, audit_id: int | Mapping[str, Any]) -> dict[str, Any]:
        """The audit's whole evidence document."""
        return self.get(f"/audits/{_id(audit_id)}/results/")

    # --- Standards and evaluations -------------------------------------------

    def standard(self, code: str) -> dict[str, Any]:
        """The latest published version of the standard ``code`` (case as written)."""
        published = list(self.pages("/standards/", status="published"))
        matching = [s for s in published if s["code"].lower() == code.lower()]
        if not matching:
            known = ", ".join(sorted({s["code"] for s in published})) or "none"
            raise SynthGovError(
                f"No published standard has the code {code!r}. Published standards: {known}.",
                status=404,
            )
        return max(matching, key=lambda s: s.get("published") or "")

    def evaluations(self, version: int | Mapping[str, Any]) -> list[dict[str, Any]]:
        """The version's current compliance evaluations, one per standard that applies."""
        return list(self.pages("/evaluations/", dataset_version=_id(version)))

    def evaluation(self, version: int | Mapping[str, Any], standard: str) -> dict[str, Any] | None:
        """The version's current evaluation against the standard ``standard`` (its code)."""
        prefix = standard.lower() + "@"
        for evaluation in self.evaluations(version):
            if str(evaluation.get("standard", "")).lower().startswith(prefix):
                return evaluation
        return None

    def wait_for_evaluation(
        self,
        version: int | Mapping[str, Any],
        standard: str,
        *,
        audit: Mapping[str, Any],
        timeout: float = 300.0,
        poll_interval: float = 1.0,
        settle: float = 10.0,
    ) -> dict[str, Any]:
        """The evaluation against ``standard`` (its code) that takes ``audit`` in.

        The worker evaluates a version against every standard that applies once its
        audit has finished, one standard after another. An evaluation takes the audit
        in when it cites the audit as a source or was computed after it finished.
        Once another standard's evaluation has done so, ours has ``settle`` seconds
        to follow: if it still has not, an evaluation that exists stands (the audit
        changed none of its evidence) and a missing one means the standard does not
        apply to the dataset (:class:`NotApplicable`).
        """
        finished = parse_time(audit.get("finished"))
        started = time.monotonic()
        worker_done: float | None = None
        while True:
            evaluations = self.evaluations(version)
            prefix = standard.lower() + "@"
            ours = next(
                (e for e in evaluations if str(e.get("standard", "")).lower().startswith(prefix)),
                None,
            )
            if ours is not None and _takes_in(ours, audit["id"], finished):
                return ours
            now = time.monotonic()
            if worker_done is None and any(
                _takes_in(e, audit["id"], finished) for e in evaluations if e is not ours
            ):
                worker_done = now
            if worker_done is not None and now - worker_done >= settle:
                if ours is not None:
                    return ours
                raise NotApplicable(self._not_applicable(standard, _id(version), evaluations))
            if now - started >= timeout:
                raise WaitTimeout(
                    f"No evaluation of version #{_id(version)} against {standard} took in "
                    f"audit #{audit['id']} within {timeout:.0f} s. Is a worker running? "
                    "Does the standard apply to this dataset (its kinds, jurisdictions, "
                    "sectors and dates)?"
                )
            time.sleep(min(poll_interval, max(0.05, timeout - (now - started))))

    def _not_applicable(
        self, code: str, version_id: int, evaluations: Sequence[Mapping[str, Any]]
    ) -> str:
        spec = self.standard(code)
        scope = [
            f"{label} {', '.join(spec[field])}"
            for field, label in (
                ("jurisdictions", "jurisdictions"),
                ("sectors", "sectors"),
                ("dataset_kinds", "dataset kinds"),
            )
            if spec.get(field)
        ]
        for field, label in (("effective_from", "from"), ("effective_to", "until")):
            if spec.get(field):
                scope.append(f"{label} {spec[field]}")
        others = ", ".join(sorted(str(e.get("standard")) for e in evaluations)) or "none"
        return (
            f"{spec['code']}@{spec['version']} does not apply to version #{version_id}'s "
            f"dataset: the worker evaluated it against {others} only. The standard covers "
            f"{'; '.join(scope) or 'every dataset'}."
        )


def _takes_in(evaluation: Mapping[str, Any], audit_id: int, finished: datetime | None) -> bool:
    sources = list((evaluation.get("sources") or {}).values())
    sources += [r.get("source") for r in (evaluation.get("results") or {}).get("rules", [])]
    if any(isinstance(s, Mapping) and s.get("audit") == audit_id for s in sources):
        return True
    computed = parse_time(evaluation.get("computed"))
    return finished is not None and computed is not None and computed >= finished


def _id(thing: int | Mapping[str, Any]) -> int:
    if isinstance(thing, Mapping):
        return int(thing["id"])
    return int(thing)


@contextlib.contextmanager
def _upload_files(
    upload: tuple[Path, Mapping[str, str]] | None,
) -> Iterator[dict[str, tuple[str, IO[bytes]]] | None]:
    if upload is None:
        yield None
        return
    with upload[0].open("rb") as handle:
        yield {"file": (upload[0].name, handle)}


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise SynthGovError(
            f"The server answered {response.status_code} with something that is not JSON "
            f"({response.headers.get('content-type', 'no content type')}): is "
            f"{response.request.url.copy_with(path='/', query=None)} a SynthGov server?",
            status=response.status_code,
        ) from None


def _error(response: httpx.Response, method: str, path: str) -> SynthGovError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    text, fields = api_messages(body)
    if status == 401:
        lead = "The server refused the token"
    elif status == 403:
        lead = "Not allowed"
    elif status == 404:
        lead = "Not found"
    elif status >= 500:
        lead = "The server failed"
    else:
        lead = "The server refused the request"
    if not text:
        text = response.reason_phrase or "no explanation"
    return SynthGovError(
        f"{lead} ({status} on {method} {API_PREFIX}{path}): {text}",
        status=status,
        fields=fields,
        body=body,
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
