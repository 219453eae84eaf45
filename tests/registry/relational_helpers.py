"""Relational test data and steps, shared by every test of linked tables (issue 17): the
SDMetrics multi-table demo's own files (users, sessions, transactions; installed with
sdmetrics, read offline), small hand-made tables, planted families, SDMetrics metadata
and declared keys built from short descriptions, and the steps that register linked
tables and run an audit of them now, as the worker would."""

from __future__ import annotations

import copy
import io
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sdmetrics
from rest_framework.test import APIClient

from audits.models import AuditRun, AuditStatus
from audits.runs import services as audit_services
from registry import table_services
from registry.table_services import TableUpload
from tests.registry.conftest import make_dataset

DEMO_DIR = Path(sdmetrics.__file__).parent / "demos" / "multi_table"
DEMO_TABLES = ("users", "sessions", "transactions")

# A link between two tables: (parent table, parent key, child table, child key).
Link = tuple[str, str, str, str]


# --------------------------------------------------------------------------- files


def demo_metadata() -> dict[str, Any]:
    return copy.deepcopy(json.loads((DEMO_DIR / "metadata.json").read_text()))


def demo_bytes(table: str, kind: str = "real") -> bytes:
    return (DEMO_DIR / f"{table}_{kind}.csv").read_bytes()


def demo_frames(kind: str = "real") -> dict[str, pd.DataFrame]:
    """The demo's tables of ``kind`` ("real" or "synthetic"), read by pandas."""
    return {t: pd.read_csv(DEMO_DIR / f"{t}_{kind}.csv") for t in DEMO_TABLES}


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


# Parents and children, as the registry tests upload them.
PARENTS = b"pid,region\n1,north\n2,south\n3,north\n"
CHILDREN = b"cid,pid,amount\n10,1,5.0\n11,1,7.5\n12,3,2.0\n13,2,1.0\n"
# Parents and children, as the audit tests register them.
AUDITED_PARENTS = b"pid,region\n1,north\n2,south\n3,north\n4,south\n"
AUDITED_CHILDREN = b"cid,pid,amount\n10,1,5.0\n11,1,7.5\n12,3,2.0\n13,2,1.0\n14,4,3.5\n"
# One child points at a parent that does not exist: 424242.
ORPHANED_CHILDREN = b"cid,pid,amount\n10,1,5.0\n11,1,7.5\n12,3,2.0\n13,424242,1.0\n14,4,3.5\n"


# --------------------------------------------------------------------------- keys


def declared_keys(primary_keys: dict[str, str], *links: Link) -> dict[str, Any]:
    """Keys as the API and ``relational_version_create(keys=...)`` take them."""
    return {
        "primary_keys": dict(primary_keys),
        "foreign_keys": [
            {"parent_table": p, "parent_key": pk, "child_table": c, "child_key": fk}
            for p, pk, c, fk in links
        ],
    }


# parents.pid <- children.pid, children keyed by cid.
PAIR_KEYS = declared_keys(
    {"parents": "pid", "children": "cid"}, ("parents", "pid", "children", "pid")
)


def sdmetrics_metadata(
    tables: dict[str, tuple[str | None, dict[str, str | dict[str, Any]]]],
    *links: Link,
    spec_version: bool = False,
) -> dict[str, Any]:
    """SDMetrics multi-table metadata: ``tables`` maps each table to its primary key (None:
    none) and its columns, each an sdtype or a whole column description (an sdtype with
    more, such as a ``datetime_format``); ``links`` are the relationships. With
    ``spec_version``, ``METADATA_SPEC_VERSION`` is ``MULTI_TABLE_V1``."""
    described: dict[str, Any] = {}
    for name, (primary_key, columns) in tables.items():
        table: dict[str, Any] = {} if primary_key is None else {"primary_key": primary_key}
        table["columns"] = {
            column: {"sdtype": kind} if isinstance(kind, str) else dict(kind)
            for column, kind in columns.items()
        }
        described[name] = table
    metadata: dict[str, Any] = {
        "tables": described,
        "relationships": [
            {
                "parent_table_name": p,
                "parent_primary_key": pk,
                "child_table_name": c,
                "child_foreign_key": fk,
            }
            for p, pk, c, fk in links
        ],
    }
    if spec_version:
        metadata["METADATA_SPEC_VERSION"] = "MULTI_TABLE_V1"
    return metadata


# --------------------------------------------------------------------------- planted families

# People and their visits (planted_families).
PEOPLE_VISITS_METADATA = sdmetrics_metadata(
    {
        "people": ("pid", {"pid": "id", "age": "numerical", "region": "categorical"}),
        "visits": (
            "vid",
            {"vid": "id", "pid": "id", "cost": "numerical", "ward": "categorical"},
        ),
    },
    ("people", "pid", "visits", "pid"),
)
PEOPLE_VISITS_KEYS = declared_keys(
    {"people": "pid", "visits": "vid"}, ("people", "pid", "visits", "pid")
)


def _families(rng, n: int, first_id: int, region=None) -> dict[str, pd.DataFrame]:
    """n people with 0 to 4 visits each; continuous ages and costs, so no two rows agree
    by chance."""
    pids = np.arange(first_id, first_id + n)
    people = pd.DataFrame(
        {
            "pid": pids,
            "age": rng.uniform(18, 90, n).round(6),
            "region": region or rng.choice(["north", "south", "east"], n),
        }
    )
    counts = rng.integers(0, 5, n)
    owner = np.repeat(pids, counts)
    visits = pd.DataFrame(
        {
            "vid": np.arange(len(owner)) + 10 * first_id,
            "pid": owner,
            "cost": rng.uniform(10, 500, len(owner)).round(6),
            "ward": rng.choice(["a", "b", "c"], len(owner)),
        }
    )
    return {"people": people, "visits": visits}


def _copy_family(source, pid: int, new_pid: int, first_vid: int, *, nudge=0.0, children=True):
    person = source["people"][source["people"].pid == pid].copy()
    person["pid"] = new_pid
    person["age"] = person["age"] + nudge
    visits = source["visits"][source["visits"].pid == pid].copy()
    if not children:
        visits = visits.assign(cost=visits["cost"] + 1000.0)
    visits["pid"] = new_pid
    visits["vid"] = np.arange(len(visits)) + first_vid
    visits["cost"] = visits["cost"] + nudge
    return person, visits


def planted_families(exact=5, parent_only=3, near=4):
    """Real families, a holdout, and 100 synthetic families: ``exact`` real families copied
    whole under new keys, ``parent_only`` real people copied with other visits, ``near``
    families copied with every number moved by 0.001, and the rest from a region no real
    person lives in (far from everyone)."""
    rng = np.random.default_rng(7)
    real = _families(rng, 300, 1)
    holdout = _families(rng, 300, 1_000)
    synthetic = _families(rng, 100 - exact - parent_only - near, 5_000, region="nowhere")
    # Real people with at least one visit, in order: the planted families come from them.
    donors = [p for p in real["people"].pid if (real["visits"].pid == p).any()]
    people, visits = [synthetic["people"]], [synthetic["visits"]]
    plan = [("exact", d) for d in donors[:exact]]
    plan += [("parent_only", d) for d in donors[exact : exact + parent_only]]
    plan += [("near", d) for d in donors[exact + parent_only : exact + parent_only + near]]
    for i, (kind, donor) in enumerate(plan):
        person, family = _copy_family(
            real,
            donor,
            9_000 + i,
            90_000 + 100 * i,
            nudge=0.001 if kind == "near" else 0.0,
            children=kind != "parent_only",
        )
        people.append(person)
        visits.append(family)
    synthetic = {
        "people": pd.concat(people, ignore_index=True),
        "visits": pd.concat(visits, ignore_index=True),
    }
    return real, synthetic, holdout


def sdmetrics_quality_report(real, synthetic, metadata) -> tuple[float, dict[str, float]]:
    """SDMetrics' MultiTableQualityReport on the tables: its score and each property's."""
    with warnings.catch_warnings():
        # The class warns, on import, that it is deprecated in favour of QualityReport.
        warnings.simplefilter("ignore")
        from sdmetrics.reports import MultiTableQualityReport

        report = MultiTableQualityReport()
        report.generate(real, synthetic, metadata, verbose=False)
    table = report.get_properties()
    return report.get_score(), dict(zip(table["Property"], table["Score"], strict=True))


# --------------------------------------------------------------------------- steps


def api_client(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def register_tables(dataset, user, tables: dict[str, bytes], *, suffix: str = "csv", **keys):
    """A version of ``dataset`` made of ``tables`` (``{name: file content}``, each
    uploaded as ``<name>.<suffix>``), registered by the service the API and form call;
    ``keys`` go to it as they are (``keys=``, ``metadata=``)."""
    return table_services.relational_version_create(
        dataset=dataset,
        user=user,
        tables=[
            TableUpload(None, f"{name}.{suffix}", iter([content]))
            for name, content in tables.items()
        ],
        **keys,
    )


def register_pair(world, name: str, children: bytes = AUDITED_CHILDREN, **dataset):
    """``AUDITED_PARENTS`` and ``children`` with ``PAIR_KEYS``, registered by
    ``world.curator_a`` as the first version of a new dataset ``name`` (``dataset``: more
    of ``make_dataset``'s arguments, such as ``kind``)."""
    return register_tables(
        make_dataset(world, name=name, **dataset),
        world.curator_a,
        {"parents": AUDITED_PARENTS, "children": children},
        keys=PAIR_KEYS,
    )


def run_now(run_id: int) -> AuditRun:
    """Run a requested audit now, as the worker does (claim, then execute)."""
    token = audit_services.audit_run_claim(run_id=run_id)
    assert token
    return audit_services.audit_run_execute(run_id=run_id, token=token)


def audit_now(version, reference, families: list[str], user, holdout=None) -> AuditRun:
    """An audit of ``version`` requested through the service and run now; it succeeded."""
    run = audit_services.audit_run_request(
        version=version,
        reference=reference,
        holdout=holdout,
        config={"families": families},
        user=user,
    )
    run = run_now(run.pk)
    assert run.status == AuditStatus.SUCCEEDED, run.error
    return run


def api_audit_now(user, version, reference, families: list[str]) -> AuditRun:
    """An audit of ``version`` requested through the API by ``user`` and run now; it
    succeeded."""
    response = api_client(user).post(
        "/api/v1/audits/",
        {"version": version.pk, "reference": reference.pk, "families": families},
        format="json",
    )
    assert response.status_code == 202, response.content
    run = run_now(response.json()["id"])
    assert run.status == AuditStatus.SUCCEEDED, run.error
    return run


def audit_refused(world, payload: dict, field: str, *phrases: str) -> None:
    """An audit requested through the API by ``world.curator_a`` is refused (400), its
    ``field`` error says each of ``phrases``, and no run is stored."""
    before = AuditRun.objects.count()
    response = api_client(world.curator_a).post("/api/v1/audits/", payload, format="json")
    assert response.status_code == 400, response.content
    message = " ".join(response.json().get(field, []))
    for phrase in phrases:
        assert phrase in message, (phrase, response.json())
    assert AuditRun.objects.count() == before
