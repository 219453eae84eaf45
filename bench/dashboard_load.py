"""Benchmark: the compliance dashboard and the evaluation list with 10,000 datasets.

Creates its own PostgreSQL database, migrates it and fills it with bulk inserts: 20
organisations in 5 jurisdictions, 10,000 datasets with 2 versions each (datasheets,
generations, schemas and profiles from the registry's own inference), 30 published
standards (the 3 shipped ones and 27 local ones extending the global baseline, saved and
validated by ``audits.compliance.services``), one finished audit of 32 figures per
dataset (320,000 figures: every catalogue figure a published standard's rule reads,
checked at fill time, so the statuses are a realistic mix) plus a few queued and running
ones, and the compliance evaluations and rule outcomes the app computes from them with
``audits.standards.engine.evaluate``: every version evaluated at upload, the latest
again when its audit finished (superseding the first), spread over the last months so
the 30-day trend has history.

It then starts gunicorn as ``deploy/Dockerfile`` does (``--config deploy/gunicorn.conf.py``:
2 workers of 4 threads) with ``DEBUG=0``, signs in through the login form and measures
each page with a plain HTTP client: median (p50), p95 and max latency over N sequential
requests, then the same over N requests from ``--clients`` concurrent clients. SQL
queries per page are counted with ``django.test.Client`` and ``CaptureQueriesContext``
against the same database, once after filling a tenth of the datasets and once at full
size, on full and filtered views and on deep pages, to show the count does not grow
with the data.

    .venv/bin/python bench/dashboard_load.py
    .venv/bin/python bench/dashboard_load.py --datasets 2000 --requests 50 --json out.json
    .venv/bin/python bench/dashboard_load.py --compare out.json --explain
    .venv/bin/python bench/dashboard_load.py --keep   # leave the database for poking at
    .venv/bin/python bench/dashboard_load.py --name h_dash --keep --only dashboard
    .venv/bin/python bench/dashboard_load.py --reuse h_dash --var DIR --clients 4 --only dashboard

Target: p95 under 300 ms on every page. The database is dropped at the end unless
``--keep``. Needs PostgreSQL on 127.0.0.1:5432 (``--pg``) that user postgres may use.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
TARGET_P95_MS = 300
CHUNK = 500  # datasets per fill transaction
PASSWORD = "synthgov-bench-password"  # noqa: S105  (throwaway database)

# --- The data's shape --------------------------------------------------------------

JURISDICTIONS = [
    ("EU", "European Union"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("UK", "United Kingdom"),
    ("US", "United States"),
]
ORG_HOMES = [["DE", "EU"], ["FR", "EU"], ["UK"], ["US"], ["EU"]]  # by org index % 5
ORG_NAMES = [
    f"{a} {b}"
    for b in ("Synthetics", "Data Labs")
    for a in (
        "Northwind",
        "Meridian",
        "Bluefield",
        "Kestrel",
        "Aurora",
        "Harbour",
        "Lumen",
        "Orchard",
        "Granite",
        "Sable",
    )
]
DOMAINS = {
    "health": ["patient records", "hospital admissions", "prescriptions", "lab results"],
    "finance": ["loan applications", "card transactions", "credit files"],
    "education": ["student outcomes", "enrolment records", "exam results"],
    "public-sector": ["benefit claims", "census microdata", "tax returns"],
    "mobility": ["trip logs", "vehicle telemetry"],
    "retail": ["basket transactions", "loyalty members"],
    "energy": ["smart meter readings", "household consumption"],
    "insurance": ["claims history", "policy holders"],
}
SYNTHETIC_KINDS = ["fully_synthetic", "partially_synthetic", "hybrid"]
LICENCES = ["CC-BY-4.0", "CC-BY-NC-4.0", "ODbL-1.0", "LicenseRef-Internal"]
TAGS = ["tabular", "gdpr", "dp", "benchmark", "training", "validation", "sdv", "ctgan"]
GENERATORS = [("gan", "ctgan"), ("copula", "sdv"), ("vae", "synthcity"), ("llm", "gretel")]

# The 32 figures each audit stores: (mean, sd) of a plausible value, clipped at 0 and at
# 1 (3 for the ratio); None: follows from the version's registry facts. Those whose
# catalogue entry needs a real holdout are "skipped" without one, as the audit does.
# The fill checks that every catalogue figure a published standard's rule reads is
# here (``_audited_keys``), so a rule added to a shipped standard cannot leave every
# evaluation "incomplete" unnoticed.
FIGURES: dict[str, tuple[float, float] | None] = {
    "quality.overall": (0.84, 0.05),
    "quality.validity": (0.975, 0.025),
    "quality.category_coverage": (0.93, 0.05),
    "quality.range_coverage": (0.9, 0.06),
    "quality.detection": (0.55, 0.12),
    "integrity.hash_verified": None,
    "fairness.missing_groups": None,
    "fairness.representation_gap_max": (0.045, 0.022),
    "fairness.amplification": (0.015, 0.014),
    "fairness.subgroup_fidelity_gap": (0.09, 0.05),
    "privacy.exact_match_rate": (-0.006, 0.007),
    "privacy.linkage_risk": (0.02, 0.012),
    "privacy.dcr_closer_to_training_share": (0.52, 0.025),
    "privacy.dcr_p05_ratio": (1.0, 0.15),
    "privacy.nndr_p05": (0.5, 0.12),
    "privacy.attribute_disclosure": (0.8, 0.07),
    "documentation.datasheet_completeness": None,
    "provenance.lineage_complete": None,
    "provenance.generator_documented": None,
    "provenance.compute_disclosed": None,
    # The attack figures the shipped EU-STRICT-PRIVACY and UK-HEALTH profiles ask for
    # (without them every EU and UK evaluation would read "incomplete").
    "privacy.singling_out_risk": (0.012, 0.012),
    "privacy.linkability_risk": (0.01, 0.01),
    "privacy.inference_risk": (0.018, 0.014),
    "privacy.membership_auc": (0.51, 0.02),
    "privacy.membership_tpr_at_1pct_fpr": (0.012, 0.007),
    "privacy.near_copy_rate": (0.004, 0.005),
    "privacy.dp_epsilon_lower_bound": (0.25, 0.3),
    "utility.tstr_ratio": (0.9, 0.06),
    "collapse.tail_coverage": (0.72, 0.15),
    "fairness.population_representation_gap": (0.025, 0.015),
    # Model validation (GLOBAL-BASELINE 1.1, UK-HEALTH 1.2 on): a model trained on the
    # synthetic data, tested on the real holdout.
    "fairness.model_amplification": (0.012, 0.018),
    "utility.calibration_gap": (0.045, 0.025),
}
# Figures that need something besides a holdout, and how often an audit has it:
# a target column (TSTR, model validation), lineage back to real data, a population
# profile.
SOMETIMES = {
    "utility.tstr_ratio": 0.7,
    "collapse.tail_coverage": 0.9,
    "fairness.population_representation_gap": 0.4,
    "fairness.model_amplification": 0.7,
    "utility.calibration_gap": 0.7,
}

# Local standards extending the shipped global baseline, one per jurisdiction and
# profile (EU-STRICT-PRIVACY and UK-HEALTH are shipped): (code suffix, sectors, rules
# as key, operator, threshold, severity; severity WAIVE waives the parent's rule).
WAIVE = "waive"
PROFILES: list[tuple[str, list[str], list[tuple[str, str, Any, str]]]] = [
    (
        "STRICT-PRIVACY",
        [],
        [
            ("privacy.exact_match_rate", "<=", 0.005, "blocking"),
            ("privacy.linkage_risk", "<=", 0.03, "blocking"),
            ("privacy.dcr_closer_to_training_share", "<=", 0.56, "major"),
            ("privacy.nndr_p05", ">=", 0.25, "minor"),
            ("privacy.attribute_disclosure", ">=", 0.65, "major"),
            ("quality.detection", ">=", None, WAIVE),
        ],
    ),
    (
        "HEALTH",
        ["health"],
        [
            ("registry.has_holdout_audit", "=", True, "blocking"),
            ("privacy.dcr_closer_to_training_share", "<=", 0.57, "major"),
            ("privacy.attribute_disclosure", ">=", 0.7, "major"),
            ("quality.overall", ">=", 0.8, "major"),
            ("fairness.representation_gap_max", "<=", 0.07, "major"),
            ("fairness.subgroup_fidelity_gap", "<=", 0.15, "major"),
            ("documentation.datasheet_completeness", ">=", 0.8, "major"),
        ],
    ),
    (
        "FINANCE",
        ["finance", "insurance"],
        [
            ("fairness.amplification", "<=", 0.04, "blocking"),
            ("fairness.representation_gap_max", "<=", 0.08, "major"),
            ("quality.overall", ">=", 0.78, "major"),
            ("quality.range_coverage", ">=", 0.75, "minor"),
            ("privacy.exact_match_rate", "<=", 0.008, "major"),
            ("registry.generator_type", "present", None, "minor"),
        ],
    ),
    (
        "EDUCATION",
        ["education"],
        [
            ("fairness.representation_gap_max", "<=", 0.08, "major"),
            ("fairness.subgroup_fidelity_gap", "<=", 0.2, "major"),
            ("quality.category_coverage", ">=", 0.85, "minor"),
            ("privacy.exact_match_rate", "<=", 0.005, "blocking"),
            ("documentation.datasheet_completeness", ">=", 0.75, "major"),
            ("quality.validity", ">=", 0.92, "major"),
        ],
    ),
    (
        "PUBLIC-SECTOR",
        ["public-sector"],
        [
            ("quality.validity", ">=", 0.93, "major"),
            ("documentation.datasheet_completeness", ">=", 0.8, "major"),
            ("provenance.compute_disclosed", ">=", 1.0, "minor"),
            ("privacy.attribute_disclosure", ">=", 0.6, "major"),
            ("provenance.lineage_complete", ">=", 1.0, "blocking"),
        ],
    ),
    (
        "MOBILITY-ENERGY",
        ["mobility", "energy"],
        [
            ("privacy.linkage_risk", "<=", 0.04, "major"),
            ("privacy.exact_match_rate", "<=", 0.008, "major"),
            ("quality.detection", ">=", 0.25, "advisory"),
            ("quality.range_coverage", ">=", 0.72, "advisory"),
        ],
    ),
]
STANDARDS = 30


# Pages measured: (label, user, path). The query-only pages show few rows on purpose.
PAGES = [
    ("dashboard", "regulator", "/"),
    ("dashboard page 50", "regulator", "/?page=50"),
    ("dashboard jurisdiction=DE", "regulator", "/?jurisdiction=DE"),
    ("dashboard (officer, 1 org)", "officer", "/"),
    ("evaluations", "regulator", "/evaluations/"),
    ("evaluations page 50", "regulator", "/evaluations/?page=50"),
    ("evaluations page 1000", "regulator", "/evaluations/?page=1000"),
    ("evaluations non_compliant", "regulator", "/evaluations/?status=non_compliant"),
    ("api dashboard", "regulator", "/api/v1/dashboard/"),
]
QUERY_ONLY_PAGES = [
    ("dashboard one org, health", "regulator", "/?organisation=kestrel-synthetics&domain=health"),
    ("api evaluations", "regulator", "/api/v1/evaluations/"),
]


def measured_pages(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """The pages timed over HTTP: all, or with ``--only dashboard`` the dashboard's."""
    if args.only == "dashboard":
        return [p for p in PAGES if p[0].startswith(("dashboard", "api dashboard"))]
    return PAGES


def cache_backend(env: dict[str, str]) -> str:
    return env.get("CACHE_URL") or "local memory (per process)"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _sha(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


# --- Child: filling the database ---------------------------------------------------


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synthgov.settings")
    import django

    django.setup()


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _fill_base(now: datetime) -> None:
    """Jurisdictions, organisations, users and roles, tags, and the 30 standards
    (the shipped ones plus generated local ones, saved and validated by the app)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from audits.models import StandardVersion
    from audits.standards import engine
    from audits.standards import services as standard_services
    from registry.models import Tag
    from synthgov.accounts.models import Jurisdiction, Membership, Organisation
    from synthgov.signing.canonical import sha256_hex

    jurisdictions = {
        code: Jurisdiction.objects.create(code=code, name=name) for code, name in JURISDICTIONS
    }
    hashed = make_password(PASSWORD)
    users = get_user_model().objects
    regulator_org = Organisation.objects.create(
        name="Bench Supervisory Authority", slug="bench-supervisory-authority", kind="regulator"
    )
    regulator_org.jurisdictions.add(jurisdictions["EU"])
    regulator_org.covered_jurisdictions.add(*jurisdictions.values())
    regulator = users.create(username="regulator", password=hashed, first_name="Rita")
    Membership.objects.create(user=regulator, organisation=regulator_org, role="regulator")
    # Global standards need their own permission (a platform grant, not a role),
    # as in the demo, where the administrator publishes them.
    platform_admin = users.create(username="admin", password=hashed, is_superuser=True)
    for i, name in enumerate(ORG_NAMES):
        org = Organisation.objects.create(
            name=name, slug=_slug(name), kind="research" if i % 7 == 6 else "producer"
        )
        org.jurisdictions.add(*(jurisdictions[c] for c in ORG_HOMES[i % 5]))
        curator = users.create(username=f"curator-{i:02d}", password=hashed)
        Membership.objects.create(user=curator, organisation=org, role="curator")
        if i == 0:
            officer = users.create(username="officer", password=hashed, first_name="Omar")
            Membership.objects.create(user=officer, organisation=org, role="compliance_officer")
    Tag.objects.bulk_create([Tag(name=t) for t in TAGS])

    published = now - timedelta(days=150)

    def publish(spec: Any, owner: Any) -> None:
        # The service validates and stores the draft; publishing is done by hand so
        # that no recomputation task is queued (the evaluations are filled below).
        author = platform_admin if owner is None else regulator
        draft = standard_services.standard_save_draft(spec=spec, user=author, owner=owner)
        StandardVersion.objects.filter(pk=draft.pk).update(
            status="published",
            published=published,
            published_by=author,
            spec_sha256=sha256_hex(engine.dump_yaml(spec).encode()),
        )

    shipped = engine.load_shipped()
    for spec in shipped:
        # Shipped local profiles are maintained by the regulator, as in the demo.
        publish(spec, None if spec.scope == "global" else regulator_org)
    baseline = next(s for s in shipped if s.parent is None)
    codes = {s.code for s in shipped}
    for code, country in JURISDICTIONS:
        for suffix, sectors, specs in PROFILES:
            if f"{code}-{suffix}" in codes or len(codes) == STANDARDS:
                continue
            codes.add(f"{code}-{suffix}")
            rules = [
                engine.RuleSpec(
                    key=key,
                    operator=op,
                    threshold=threshold,
                    severity="advisory" if severity == WAIVE else severity,
                    rationale=f"{country} expects {key} {op} {threshold} for "
                    f"{'/'.join(sectors) or 'personal'} data used to train AI.",
                    clause=f"{code} {suffix.title()} guidance §{n + 1}",
                    waived=severity == WAIVE,
                    waiver_rationale="Privacy protection makes synthetic records easier to "
                    "tell apart; detection is not a fitness signal here."
                    if severity == WAIVE
                    else "",
                )
                for n, (key, op, threshold, severity) in enumerate(specs)
            ]
            spec = engine.StandardSpec(
                code=f"{code}-{suffix}",
                name=f"{country} {suffix.replace('-', ' ').lower()} profile",
                version="1.0",
                scope="local",
                jurisdictions=[code],
                sectors=sectors,
                dataset_kinds=list(baseline.dataset_kinds),
                parent=baseline.ref,
                description=f"Local profile for {country}, tightening the global baseline.",
                source=f"{country} data-protection and sector guidance.",
                effective_from=published.date(),
                certificate_validity_days=365 if sectors else None,
                rules=rules,
            )
            publish(spec, regulator_org)


def _standards() -> list[dict[str, Any]]:
    """Each published standard with its effective rules, as the app computes them."""
    from audits.models import StandardVersion
    from audits.standards import selectors as standard_selectors

    rows = StandardVersion.objects.select_related("standard", "parent__standard")
    return [
        {"row": v, "rules": standard_selectors.effective(v)} for v in rows.prefetch_related("rules")
    ]


def _applies(standard: Any, domain: str, kind: str, homes: set[str]) -> bool:
    """``audits.standards.selectors.applies`` without its per-dataset queries
    (dates are in force)."""
    if standard.dataset_kinds and kind not in standard.dataset_kinds:
        return False
    if standard.jurisdictions and not homes & set(standard.jurisdictions):
        return False
    sectors = {s.lower() for s in standard.sectors}
    return not sectors or domain in sectors or bool({c.lower() for c in homes} & sectors)


def _evaluation(version: Any, standard: dict, figures: dict, at: datetime) -> tuple[Any, list]:
    """An unsaved evaluation and its rule outcomes, computed as
    ``audits.compliance.services.evaluation_compute`` does."""
    from audits.models import ComplianceEvaluation
    from audits.standards import engine
    from synthgov.signing.canonical import canonical_json, sha256_hex

    result = engine.evaluate(standard["rules"], figures)
    results = result.to_json()
    sources = {
        key: dict(fig.source)
        for key, fig in sorted(figures.items())
        if fig.not_measured is None and fig.not_applicable is None
    }
    row = standard["row"]
    evidence = {
        "dataset_version": version.pk,
        "sha256": version.sha256,
        "standard": row.label,
        "spec_sha256": row.spec_sha256,
        "results": results,
        "sources": sources,
    }
    summary = result.summary()
    evaluation = ComplianceEvaluation(
        dataset_version=version,
        standard_version=row,
        status=result.status,
        results=results,
        sources=sources,
        evidence_sha256=sha256_hex(canonical_json(evidence)),
        worst_severity=summary.get("worst_failing_severity") or "",
        fail_count=summary.get("fail", 0),
        missing_count=summary.get("missing", 0),
        computed=at,
    )
    return evaluation, [(r["key"], r["status"], r["severity"]) for r in results["rules"]]


def _profiles() -> list[tuple[list[dict], dict]]:
    """Schema and profile pairs made by the registry's own inference on small tables."""
    import numpy as np
    import pandas as pd

    from registry import ingest

    out = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        n = 2000
        frame = pd.DataFrame(
            {
                "record_id": np.arange(n) + seed * 10**6,
                "sex": rng.choice(["F", "M", "X"], n, p=[0.5, 0.49, 0.01]),
                "ethnicity": rng.choice([f"group_{c}" for c in "abcdef"], n),
                "age": rng.integers(18, 95, n),
                "postcode": rng.choice([f"P{i:03d}" for i in range(120)], n),
                "income": np.round(rng.lognormal(10, 0.5, n), 2),
                "score": rng.normal(600, 60, n).round(),
                "signup_date": pd.to_datetime("2020-01-01")
                + pd.to_timedelta(rng.integers(0, 1500, n), "D"),
                "diagnosis": rng.choice([f"D{i:02d}" for i in range(25)], n),
                "outcome": rng.random(n) < 0.3,
            }
        )
        schema = ingest.infer_schema(frame)
        out.append(([c.to_dict() for c in schema], ingest.profile_frame(frame, schema)))
    return out


def _needs_holdout(metrics: dict[str, Any]) -> set[str]:
    """The figures the audit skips without a real holdout, from the catalogue."""
    return {key for key in FIGURES if "real holdout" in (metrics[key].needs or "")}


def _audited_keys(standards: list[dict[str, Any]], metrics: dict[str, Any]) -> set[str]:
    """The catalogue figures the published standards' effective rules read; a version
    that is a single table has the relational ones as not applicable, not measured."""
    from audits.checks.catalogue import RELATIONAL_KEYS

    keys = {
        effective.rule.key
        for standard in standards
        for effective in standard["rules"]
        if not (effective.rule.waived or effective.origin == "waived")
    }
    return {key for key in keys if key in metrics} - set(RELATIONAL_KEYS)


def _measure(
    rng: random.Random, holdout: bool, facts: dict[str, Any], needs_holdout: set[str]
) -> dict[str, Any]:
    """The figures of one audit (None: skipped, it needs a holdout or another input)."""
    derived = {
        "integrity.hash_verified": float(rng.random() > 0.002),
        "fairness.missing_groups": float(rng.random() > 0.96),
        "documentation.datasheet_completeness": facts["registry.datasheet_completeness"],
        "provenance.lineage_complete": float(rng.random() < 0.93),
        "provenance.generator_documented": float(facts["registry.generator_type"] is not None),
        "provenance.compute_disclosed": float(rng.random() < 0.85),
    }
    figures = {}
    for key, shape in FIGURES.items():
        if (key in needs_holdout and not holdout) or rng.random() >= SOMETIMES.get(key, 1.0):
            figures[key] = None
        elif shape is None:
            figures[key] = derived[key]
        else:
            high = 3.0 if key == "privacy.dcr_p05_ratio" else 1.0
            figures[key] = round(min(max(rng.gauss(*shape), 0.0), high), 4)
    return figures


def _new_datasets(base: dict, start: int, stop: int, now: datetime, rng: random.Random):
    from registry.models import Dataset

    orgs, curators = base["orgs"], base["curators"]
    datasets = []
    for i in range(start, stop):
        org = i % len(orgs)
        domain = list(DOMAINS)[(i * 7 + i // 20) % len(DOMAINS)]
        kind = "real" if (i // 20) % 10 == 0 else rng.choice(SYNTHETIC_KINDS + SYNTHETIC_KINDS[:1])
        created = now - timedelta(days=rng.uniform(60, 120))
        datasets.append(
            Dataset(
                organisation=orgs[org],
                name=f"{rng.choice(DOMAINS[domain]).capitalize()} {domain} {i:05d}",
                kind=kind,
                domain=domain,
                description=f"{kind.replace('_', ' ').capitalize()} {domain} data for training "
                "and validating models; see the datasheet for collection and generation.",
                licence=rng.choice(LICENCES),
                access="open" if rng.random() < 0.2 else "restricted",
                intended_uses="Model training and benchmarking.",
                prohibited_uses="Re-identification; decisions about individuals.",
                created_by=curators[org],
                created=created,
                updated=created,
            )
        )
    Dataset.objects.bulk_create(datasets)
    through = Dataset.tags.through
    through.objects.bulk_create(
        through(dataset_id=d.pk, tag_id=t)
        for d in datasets
        for t in rng.sample(base["tags"], rng.randint(0, 3))
    )
    return datasets


def _new_versions(base: dict, datasets: list, now: datetime, rng: random.Random):
    """Two versions per dataset with datasheets and generations; returns the versions
    and each version's registry facts as ``audits.compliance.services.registry_facts`` has them."""
    from registry.models import DatasetVersion, Datasheet, Generation, datasheet_completeness

    versions = []
    for d in datasets:
        schema, profile = rng.choice(base["profiles"])
        for number in (1, 2):
            sha = _sha(d.pk, number)
            rows = rng.randint(5_000, 2_000_000)
            created = d.created if number == 1 else now - timedelta(days=rng.uniform(0.05, 55))
            versions.append(
                DatasetVersion(
                    dataset=d,
                    number=number,
                    file=f"versions/{sha[:2]}/{sha}.csv",
                    sha256=sha,
                    size_bytes=rows * 96,
                    row_count=rows,
                    column_count=len(schema),
                    format="csv",
                    encoding="utf-8",
                    delimiter=",",
                    original_name=f"{_slug(d.name)}-v{number}.csv",
                    schema=schema,
                    profile={**profile, "total_rows": rows, "sampled": True},
                    note="" if number == 1 else "Regenerated with more epochs.",
                    uploaded_by=d.created_by,
                    created=created,
                )
            )
    DatasetVersion.objects.bulk_create(versions)
    newest = {v.dataset_id: v for v in versions}  # versions are appended oldest first
    for d in datasets:
        d.latest_version = newest[d.pk]
    type(datasets[0]).objects.bulk_update(datasets, ["latest_version"], batch_size=1000)
    sheets, generations, facts = [], [], {}
    for v in versions:
        d = v.dataset
        answered = 12 - min(int(rng.expovariate(0.6)), 7)
        sections = {
            s: "Described in the producer's documentation." if k < answered else ""
            for k, s in enumerate(base["sections"])
        }
        sheets.append(Datasheet(version=v, **sections))
        facts[v.pk] = {
            "registry.licence": d.licence,
            "registry.kind": d.kind,
            "registry.access": d.access,
            "registry.datasheet_completeness": round(
                datasheet_completeness(sections, kind=d.kind), 4
            ),
            "registry.has_holdout_audit": False,
            # Unset unless the generation says otherwise, as ``registry_facts`` has
            # them (with an epsilon key, the evaluation derives the DP claim's figure).
            "registry.generator_type": None,
            "registry.privacy_mechanism": None,
            "registry.epsilon": None,
        }
        if d.kind != "real":
            generator, library = rng.choice(GENERATORS)
            dp = rng.random() < 0.25
            epsilon = round(rng.uniform(0.5, 8), 2) if dp else None
            generations.append(
                Generation(
                    version=v,
                    generator_type=generator,
                    generator_library=library,
                    generator_version="1.4.0",
                    parameters={"epochs": 300, "batch_size": 500},
                    seed=rng.randint(0, 2**31),
                    privacy_mechanism="differential_privacy" if dp else "",
                    epsilon=epsilon,
                    compute_description="1 x A100, 2 h",
                    energy_kwh=round(rng.uniform(0.5, 5), 2),
                )
            )
            facts[v.pk]["registry.generator_type"] = generator
            if dp:
                facts[v.pk] |= {
                    "registry.privacy_mechanism": "differential_privacy",
                    "registry.epsilon": epsilon,
                }
    Datasheet.objects.bulk_create(sheets)
    Generation.objects.bulk_create(generations)
    return versions, facts


def _new_audits(base: dict, datasets: list, versions: list, facts: dict, now, rng):
    """One finished audit of each dataset's latest version against real data; returns
    {version id: (run, figures)}."""
    from audits.models import AuditMetric, AuditRun

    latest = {v.dataset_id: v for v in versions if v.number == 2}
    first = {v.dataset_id: v for v in versions if v.number == 1}
    audits = {}
    for d in datasets:
        v = latest[d.pk]
        if d.kind == "real":  # a new release, compared with the previous one
            reference, holdout = first[d.pk], None
        else:
            reference, holdout = base["references"][d.organisation_id]
            holdout = holdout if rng.random() < 0.75 else None
        started = v.created + timedelta(minutes=rng.uniform(1, 30))
        figures = _measure(rng, holdout is not None, facts[v.pk], base["needs_holdout"])
        run = AuditRun(
            version=v,
            reference=reference,
            holdout=holdout,
            config={"families": ["integrity", "quality", "fairness", "privacy"], "seed": 0},
            status="succeeded",
            progress=1.0,
            step="Finished",
            attempts=1,
            requested_by=d.created_by,
            created=started - timedelta(seconds=20),
            started=started,
            finished=min(started + timedelta(minutes=rng.uniform(2, 240)), now),
            input_hashes={"synthetic": v.sha256, "reference": reference.sha256},
            library_versions={"pandas": "2.2.3", "numpy": "2.1.3", "sdmetrics": "0.18.0"},
            results={
                "metrics": [
                    {"key": k, "value": x}
                    | ({} if x is not None else {"skip_reason": _skip_reason(base, k)})
                    for k, x in figures.items()
                ]
            },
            results_sha256=_sha(v.pk, "results"),
            evidence_sha256=_sha(v.pk, "evidence"),
            timings={"quality": 12.5, "fairness": 3.2, "privacy": 48.1},
        )
        audits[v.pk] = (run, figures)
    AuditRun.objects.bulk_create(run for run, _ in audits.values())
    metrics = base["metrics"]
    AuditMetric.objects.bulk_create(
        (
            AuditMetric(
                run=run,
                key=key,
                value=value,
                direction=metrics[key].direction,
                target=metrics[key].target,
                sample_size=min(run.version.row_count, 50_000),
                population=run.version.row_count,
                uncertainty=None if value is None else 0.004,
                status="skipped" if value is None else "ok",
                finding=_skip_reason(base, key) if value is None else "",
            )
            for run, figures in audits.values()
            for key, value in figures.items()
        ),
        batch_size=5000,
    )
    return audits


def _skip_reason(base: dict, key: str) -> str:
    return f"Needs {base['metrics'][key].needs}."


def _fill_chunk(base: dict, start: int, stop: int, now: datetime) -> dict[str, int]:
    from audits.models import ComplianceEvaluation, RuleOutcome
    from audits.standards import engine

    rng = random.Random(start)
    datasets = _new_datasets(base, start, stop, now, rng)
    versions, facts = _new_versions(base, datasets, now, rng)
    audits = _new_audits(base, datasets, versions, facts, now, rng)

    # Every version was evaluated when it was uploaded (registry facts only: the
    # figures are missing); the latest again when its audit finished, which
    # superseded the first evaluation. Version 1 was never audited.
    evaluations, outcomes = [], []
    for v in versions:
        d = v.dataset
        homes = base["homes"][d.organisation_id]
        # As ``audits.compliance.services.figures_for``: a single table's relational
        # figures do not apply, then the registry's facts.
        known = engine.single_table_figures() | {
            k: engine.FigureValue(x, {"registry": k}) for k, x in facts[v.pk].items()
        }
        audited = audits.get(v.pk)
        for standard in base["standards"]:
            if not _applies(standard["row"], d.domain, d.kind, homes):
                continue
            before, rules = _evaluation(v, standard, known, v.created)
            evaluations.append(before)
            outcomes.append(rules)
            if audited is None:
                continue
            run, measured = audited
            # A figure the audit skipped is "not measured" (a rule that applies only
            # when measured then does not apply; any other finds it missing).
            figures = {
                k: engine.FigureValue(x, {"audit": run.pk}, 0.004)
                if x is not None
                else engine.FigureValue(None, {"audit": run.pk}, not_measured=_skip_reason(base, k))
                for k, x in measured.items()
            }
            figures |= known | {
                "registry.has_holdout_audit": engine.FigureValue(
                    run.holdout_id is not None, {"registry": "registry.has_holdout_audit"}
                )
            }
            after, rules = _evaluation(v, standard, figures, run.finished)
            before.is_current, before.superseded = False, run.finished
            evaluations.append(after)
            outcomes.append(rules)
    ComplianceEvaluation.objects.bulk_create(evaluations, batch_size=2000)
    RuleOutcome.objects.bulk_create(
        (
            RuleOutcome(evaluation=e, key=k, status=s, severity=sev, is_current=e.is_current)
            for e, rules in zip(evaluations, outcomes, strict=True)
            for k, s, sev in rules
        ),
        batch_size=5000,
    )
    return {"evaluations": len(evaluations), "outcomes": sum(map(len, outcomes))}


def _in_progress(now: datetime, start: int) -> None:
    """A few queued and running audits, for the dashboard's live progress bars."""
    from audits.models import AuditRun
    from registry.models import DatasetVersion

    versions = DatasetVersion.objects.filter(number=2).exclude(dataset__kind="real")
    picked = list(versions.select_related("dataset").order_by("-id")[:8])
    rng = random.Random(start)
    for i, v in enumerate(picked):
        reference = AuditRun.objects.filter(version=v).values_list("reference_id", flat=True)[0]
        running = i < 5
        AuditRun.objects.create(
            version=v,
            reference_id=reference,
            status="running" if running else "queued",
            progress=round(rng.uniform(0.1, 0.9), 3) if running else 0.0,
            step="privacy: nearest-neighbour distances" if running else "",
            requested_by=v.uploaded_by,
            created=now - timedelta(minutes=rng.uniform(1, 20)),
            started=now - timedelta(minutes=1) if running else None,
            heartbeat=now if running else None,
            claim_token=secrets.token_hex(16) if running else "",
        )


def _references(orgs: list[Any]) -> dict[int, tuple[Any, Any]]:
    """Each organisation's first real dataset: its v1 is the reference of the
    organisation's audits, its v2 the holdout."""
    from registry.models import DatasetVersion

    return {
        org.pk: tuple(
            DatasetVersion.objects.filter(dataset__organisation=org, dataset__kind="real")
            .order_by("dataset_id", "number")
            .select_related("dataset")[:2]
        )
        for org in orgs
    }


def _counts() -> dict[str, int]:
    from django.db.models import Count, Exists, OuterRef

    from audits.models import (
        AuditMetric,
        AuditRun,
        ComplianceEvaluation,
        Rule,
        RuleOutcome,
        StandardVersion,
    )
    from registry.models import Dataset, DatasetVersion

    evaluations = ComplianceEvaluation.objects
    by_status = evaluations.filter(is_current=True).values("status").annotate(n=Count("id"))
    newer = DatasetVersion.objects.filter(
        dataset=OuterRef("dataset_version__dataset"), number__gt=OuterRef("dataset_version__number")
    )
    on_latest = (
        evaluations.filter(is_current=True)
        .filter(~Exists(newer))
        .values("status")
        .annotate(n=Count("id"))
    )
    return {
        "datasets": Dataset.objects.count(),
        "versions": DatasetVersion.objects.count(),
        "standards": StandardVersion.objects.count(),
        "rules": Rule.objects.count(),
        "audit_runs": AuditRun.objects.count(),
        "audit_figures": AuditMetric.objects.count(),
        "evaluations": evaluations.count(),
        "current_evaluations": evaluations.filter(is_current=True).count(),
        "rule_outcomes": RuleOutcome.objects.count(),
        **{f"current_{row['status']}": row["n"] for row in by_status},
        **{f"latest_{row['status']}": row["n"] for row in on_latest},
    }


def child_fill(spec: dict) -> dict:
    _django()
    from django.db import connection, transaction

    from audits.checks import METRICS
    from audits.models import AuditRun, ComplianceEvaluation
    from registry.models import DATASHEET_SECTIONS, Dataset, DatasetVersion, Tag
    from synthgov.accounts.models import Membership, Organisation

    # Rows are dated in the past (history for the trend chart), so the automatic
    # "now" timestamps are switched off in this process only.
    for model, name in [
        (Dataset, "created"),
        (Dataset, "updated"),
        (DatasetVersion, "created"),
        (AuditRun, "created"),
        (ComplianceEvaluation, "computed"),
    ]:
        field = model._meta.get_field(name)
        field.auto_now = field.auto_now_add = False
    now = datetime.fromisoformat(spec["now"])
    started = time.perf_counter()
    start, stop = spec["start"], spec["stop"]
    if start == 0:
        with transaction.atomic():
            _fill_base(now)
    orgs = list(Organisation.objects.exclude(kind="regulator").order_by("id"))
    curators = {m.organisation_id: m.user for m in Membership.objects.filter(role="curator")}
    base = {
        "orgs": orgs,
        "curators": [curators[o.pk] for o in orgs],
        "tags": list(Tag.objects.values_list("id", flat=True)),
        "homes": {o.pk: {j.code for j in o.jurisdictions.all()} for o in orgs},
        "standards": _standards(),
        "profiles": _profiles(),
        "sections": [key for key, _, _ in DATASHEET_SECTIONS],
        "metrics": METRICS,
    }
    base["needs_holdout"] = _needs_holdout(METRICS)
    unmeasured = _audited_keys(base["standards"], METRICS) - set(FIGURES)
    if unmeasured:
        raise SystemExit(
            "the published standards' rules read figures the fill does not store: "
            + ", ".join(sorted(unmeasured))
            + " (add them to FIGURES in bench/dashboard_load.py)"
        )
    totals = {"evaluations": 0, "outcomes": 0}
    if start == 0:
        # Datasets 0..19 are one real dataset per organisation (audited against their
        # own first version); later audits use them as reference and holdout.
        with transaction.atomic():
            done = _fill_chunk(base, 0, len(orgs), now)
        totals = {k: totals[k] + done[k] for k in totals}
        start = len(orgs)
    base["references"] = _references(orgs)
    for chunk in range(start, stop, CHUNK):
        end = min(chunk + CHUNK, stop)
        with transaction.atomic():
            done = _fill_chunk(base, chunk, end, now)
        totals = {k: totals[k] + done[k] for k in totals}
        _log(f"filled datasets up to {end:,} ({time.perf_counter() - started:.0f} s)")
    with transaction.atomic():
        _in_progress(now, spec["start"])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would have by then
    # The rows went in by bulk insert, not through the services, so no trail event
    # moved the dashboard's cache key: a shared cache (--cache) must forget them.
    from django.core.cache import cache

    cache.clear()
    return {"seconds": time.perf_counter() - started, **totals, "counts": _counts()}


# --- Child: SQL queries per page ----------------------------------------------------


def _rows_shown(path: str, body: str) -> int:
    if path.startswith("/api/"):
        data = json.loads(body)
        return len(data["matrix"] if "matrix" in data else data["results"])
    if path.startswith("/evaluations/"):
        return body.count("<tr data-evaluation=")
    return body.count("<tr data-dataset=")


def child_queries(spec: dict) -> dict:
    """Count the SQL of each page with the test client (the second request, so
    one-off work such as the first session read of a new client is not counted)."""
    _django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    users = {u.username: u for u in get_user_model().objects.filter(is_active=True)}
    pages = []
    for label, username, path in spec["pages"]:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(users[username])
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"{path} as {username}: HTTP {response.status_code}")
        queries = sorted(
            ((float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries),
            reverse=True,
        )
        entry = {
            "label": label,
            "path": path,
            "user": username,
            "queries": len(queries),
            "sql_ms": round(sum(ms for ms, _ in queries), 1),
            "view_ms": round(elapsed * 1000, 1),
            "rows_shown": _rows_shown(path, response.content.decode()),
            "slowest": [{"ms": round(ms, 1), "sql": sql} for ms, sql in queries[:3]],
        }
        if spec.get("explain") and queries:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + queries[0][1])
                entry["plan"] = "\n".join(row[0] for row in cursor.fetchall())
        pages.append(entry)
    return {"pages": pages}


def child_counts(spec: dict) -> dict:
    _django()
    return _counts()


CHILDREN = {"fill": child_fill, "queries": child_queries, "counts": child_counts}


def _child(mode: str, spec: dict, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [str(VENV_BIN / "python"), __file__, "--child", mode, "--spec", json.dumps(spec)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} child failed (its error output is above)")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- Parent: database, server, HTTP client ------------------------------------------


def _pg(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def create_database(pg: str, name: str) -> str:
    from psycopg import sql

    with _pg(f"{pg}/postgres") as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return conn.execute("SHOW server_version").fetchone()[0]


def drop_database(pg: str, name: str) -> None:
    from psycopg import sql

    with _pg(f"{pg}/postgres") as conn:
        query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(query.format(sql.Identifier(name)))


def server_environment(var_dir: Path, database_url: str, cache_url: str = "") -> dict[str, str]:
    """Production settings (DEBUG off) on plain HTTP, everything else under ``var_dir``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SYNTHGOV_", "GUNICORN_"))
        and k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "MEDIA_ROOT", "STATIC_ROOT"}
    }
    if cache_url:
        env["CACHE_URL"] = cache_url
    env.update(
        SYNTHGOV_VAR_DIR=str(var_dir),
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(port: int, path: str, headers: dict[str, str], method: str = "GET", body: Any = None):
    """One request on a new connection, as a browser opening the page would:
    (seconds, status, response headers, body)."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    return time.perf_counter() - started, response.status, response.msg, data


def start_server(env: dict[str, str], var_dir: Path, workers: int, threads: int) -> tuple[Any, int]:
    port = _free_port()
    log = (var_dir / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "--config=deploy/gunicorn.conf.py",
            "synthgov.wsgi:application",
            "--log-level=warning",
        ],
        cwd=ROOT,
        # The deployment's own settings (deploy/Dockerfile), on a free local port.
        env=env
        | {
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads),
            "GUNICORN_TIMEOUT": "120",
        },
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{(var_dir / 'gunicorn.log').read_text()}")
        try:
            if fetch(port, "/healthz", {})[1] == 200:
                return process, port
        except OSError:
            pass
        time.sleep(0.25)
    stop_server(process)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def stop_server(process: Any) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def login(port: int, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form as a browser does; return the Cookie header."""
    cookies: dict[str, str] = {}

    def keep(message: Any) -> None:
        for header in message.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            cookies.update({k: m.value for k, m in jar.items()})

    _, status, message, page = fetch(port, "/accounts/login/", {})
    keep(message)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if status != 200 or token is None:
        raise SystemExit(f"login page: HTTP {status}")
    form = {"csrfmiddlewaretoken": token.group(1).decode(), "username": username}
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
    }
    body = urllib.parse.urlencode(form | {"password": password})
    _, status, message, _ = fetch(port, "/accounts/login/", headers, "POST", body)
    keep(message)
    if status != 302 or "sessionid" not in cookies:
        raise SystemExit(f"login as {username} failed: HTTP {status}")
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def _summary(seconds: list[float], wall: float) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)

    def rank(p: int) -> float:  # nearest rank
        return ms[max(0, -(-len(ms) * p // 100) - 1)]

    return {
        "median_ms": round(statistics.median(ms), 1),
        "p95_ms": round(rank(95), 1),
        "p99_ms": round(rank(99), 1),
        "max_ms": round(ms[-1], 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "rps": round(len(ms) / wall, 1),
    }


def _cpu_of(pids: set[int]) -> dict[int, float]:
    """CPU seconds (user + system) each process has used, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone
        out[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return out


class CpuProbe:
    """CPU used by the server (gunicorn's master and workers) and by the PostgreSQL
    backends serving this database, between two readings: what a request costs,
    whatever else shares the machine (the client's own CPU is not counted)."""

    def __init__(self, server_pid: int, pg: str, database: str) -> None:
        self.server_pid = server_pid
        self.pg = pg
        self.database = database

    def _pids(self) -> tuple[set[int], set[int]]:
        server = {self.server_pid}
        children = Path(f"/proc/{self.server_pid}/task/{self.server_pid}/children")
        if children.exists():
            server |= {int(p) for p in children.read_text().split()}
        with _pg(f"{self.pg}/postgres") as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)
            ).fetchall()
        return server, {r[0] for r in rows}

    def read(self) -> tuple[dict[int, float], dict[int, float]]:
        server, database = self._pids()
        return _cpu_of(server), _cpu_of(database)

    @staticmethod
    def used(before: Any, after: Any) -> tuple[float, float]:
        """Server and database CPU seconds between two readings (a process that
        started in between counts from zero)."""
        return tuple(  # type: ignore[return-value]
            sum(cpu - b.get(pid, 0.0) for pid, cpu in a.items())
            for b, a in zip(before, after, strict=True)
        )


def measure_page(
    port: int,
    cookie: str,
    path: str,
    requests: int,
    concurrency: int,
    probe: CpuProbe | None = None,
) -> dict:
    headers = {"Cookie": cookie, "Accept-Encoding": "identity"}
    errors: list[int] = []
    resets: list[str] = []
    sizes: list[int] = []

    def one() -> float:
        try:
            seconds, status, _, body = fetch(port, path, headers)
        except ConnectionError as error:
            # A worker recycled by max_requests (deploy/gunicorn.conf.py: 1,000 ± 100)
            # can close connections it accepted but had not answered. Counted and
            # printed, then asked again, as a reload would; the failed try is not timed.
            resets.append(type(error).__name__)
            seconds, status, _, body = fetch(port, path, headers)
        if status != 200:
            errors.append(status)
        sizes.append(len(body))
        return seconds

    for _ in range(10):  # warm-up: both workers, caches, connections
        one()
    load = os.getloadavg()[0]
    cpu: dict[str, tuple[float, float]] = {}
    before = probe.read() if probe else None
    started = time.perf_counter()
    sequential = [one() for _ in range(requests)]
    sequential_wall = time.perf_counter() - started
    if probe:
        after = probe.read()
        cpu["sequential"], before = probe.used(before, after), after
    remaining = iter(range(requests))
    lock = threading.Lock()
    concurrent: list[float] = []

    def client() -> None:
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            seconds = one()
            with lock:
                concurrent.append(seconds)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(client) for _ in range(concurrency)]:
            future.result()
    concurrent_wall = time.perf_counter() - started
    if probe:
        cpu["concurrent"] = probe.used(before, probe.read())

    def per_request(mode: str) -> dict[str, float]:
        if mode not in cpu:
            return {}
        server, database = cpu[mode]
        return {
            "server_cpu_ms": round(server * 1000 / requests, 1),
            "db_cpu_ms": round(database * 1000 / requests, 1),
        }

    return {
        "path": path,
        "kib": round(sizes[-1] / 1024, 1),
        "errors": len(errors),
        "resets": len(resets),
        "load_1min": round(load, 2),
        "load_1min_after": round(os.getloadavg()[0], 2),
        "sequential": _summary(sequential, sequential_wall) | per_request("sequential"),
        "concurrent": _summary(concurrent, concurrent_wall)
        | {"clients": concurrency}
        | per_request("concurrent"),
    }


# --- Report -------------------------------------------------------------------------


def print_data(report: dict) -> None:
    c = report["data"]
    print(
        f"\n== data: {c['datasets']:,} datasets, {c['versions']:,} versions, "
        f"{c['standards']} published standards ({c['rules']} rules), {c['audit_runs']:,} audit "
        f"runs, {c['audit_figures']:,} audit figures =="
    )

    def split(prefix: str) -> str:
        statuses = ["compliant", "non_compliant", "incomplete"]
        return " / ".join(f"{c.get(prefix + s, 0):,}" for s in statuses)

    print(
        f"evaluations {c['evaluations']:,}, {c['current_evaluations']:,} of them current "
        f"({split('current_')} compliant / non-compliant / incomplete); on latest versions, "
        f"which the dashboard shows: {split('latest_')}"
    )
    filled = (
        f"filled in {report['fill_seconds']:.0f} s"
        if "fill_seconds" in report
        else f"reused database {report.get('reused')}"
    )
    print(f"rule outcomes {c['rule_outcomes']:,}; {filled}")


def print_latency(report: dict) -> None:
    m = report["machine"]
    print(
        f"\n== latency: gunicorn {report['workers']} workers x {report.get('threads', 1)} "
        f"threads, cache {report.get('cache', 'local memory')}, PostgreSQL "
        f"{m.get('postgres', '(version not recorded)')}, {m['cpus']} CPUs shared with the "
        f"client; {report['requests']} "
        f"sequential requests per page, then {report['requests']} from "
        f"{report['concurrency']} concurrent clients =="
    )
    print(
        f"{'page':<28}{'KiB':>5} |{'p50':>6}{'p95':>6}{'p99':>6}{'CPU':>6}{'DB':>5} |"
        f"{'p50':>6}{'p95':>6}{'p99':>6}{'CPU':>6}{'DB':>5}{'req/s':>7} | <{TARGET_P95_MS} ms  load"
    )

    def cpu(mode: dict[str, Any], key: str, width: int) -> str:
        return f"{mode[key]:>{width}.0f}" if key in mode else f"{'-':>{width}}"

    for label, r in report["latency"].items():
        s, c = r["sequential"], r["concurrent"]
        # The target holds for one client and for the concurrent clients alike.
        verdict = "ok" if max(s["p95_ms"], c["p95_ms"]) < TARGET_P95_MS else "MISSED"
        errors = f"  ({r['errors']} errors)" if r["errors"] else ""
        if r.get("resets"):
            errors += f"  ({r['resets']} connections reset, asked again)"
        load = f"{r['load_1min']:.1f}"
        if "load_1min_after" in r:
            load += f"-{r['load_1min_after']:.1f}"
        print(
            f"{label:<28}{r['kib']:>5.0f} |{s['median_ms']:>6.0f}{s['p95_ms']:>6.0f}"
            f"{s.get('p99_ms', s['max_ms']):>6.0f}{cpu(s, 'server_cpu_ms', 6)}"
            f"{cpu(s, 'db_cpu_ms', 5)} |{c['median_ms']:>6.0f}{c['p95_ms']:>6.0f}"
            f"{c.get('p99_ms', c['max_ms']):>6.0f}{cpu(c, 'server_cpu_ms', 6)}"
            f"{cpu(c, 'db_cpu_ms', 5)}{c['rps']:>7.1f} | {verdict:<6} {load}{errors}"
        )
    print(
        "(milliseconds; left: one client at a time, right: concurrent clients; CPU: the "
        "server's CPU per request (gunicorn master and workers, user + system), DB: that of "
        "the PostgreSQL backends serving it; load: the 1-minute load average before and "
        "after the page, from all processes on the machine)"
    )


def print_queries(report: dict, *, explain: bool) -> None:
    large = report["queries"]["large"]
    # A --reuse run counts at one size only: both columns then show that size.
    small = report["queries"].get("small", large)
    print(
        f"\n== SQL queries per page (django.test.Client + CaptureQueriesContext), at "
        f"{small['datasets']:,} and {large['datasets']:,} datasets =="
    )
    print(
        f"{'page':<28}{'user':<10}|{'queries':>8}{'rows':>6}{'SQL ms':>8}{'view ms':>8} |"
        f"{'queries':>8}{'rows':>6}{'SQL ms':>8}{'view ms':>8}"
    )
    before = {p["label"]: p for p in small["pages"]}
    grew, empty = [], []
    for p in large["pages"]:
        b = before[p["label"]]
        if p["queries"] != b["queries"]:
            # An empty page skips the queries for its rows: not growth with the data.
            (empty if 0 in (p["rows_shown"], b["rows_shown"]) else grew).append(p["label"])
        print(
            f"{p['label']:<28}{p['user']:<10}|{b['queries']:>8}{b['rows_shown']:>6}"
            f"{b['sql_ms']:>8.0f}{b['view_ms']:>8.0f} |{p['queries']:>8}{p['rows_shown']:>6}"
            f"{p['sql_ms']:>8.0f}{p['view_ms']:>8.0f}"
        )
    if grew:
        print(f"query count CHANGED with the data on: {', '.join(grew)}")
    else:
        print("query count: the same at both sizes on every page, whatever the rows shown")
    if empty:
        print(f"(differs only because a page showed no rows at one size: {', '.join(empty)})")
    print(f"\nslowest query per page at {large['datasets']:,} datasets:")
    for p in large["pages"]:
        top = p["slowest"][0]
        sql = re.sub(r"\s+", " ", top["sql"])
        print(f"  {p['label']:<28}{top['ms']:>7.0f} ms  {sql[:150]}…")
        if explain and p.get("plan"):
            print("    " + p["plan"].replace("\n", "\n    "))


def compare(old: dict, new: dict) -> None:
    print("\n== compared with the earlier run (sequential p95 / median / concurrent req/s) ==")
    for label, r in new["latency"].items():
        o = old.get("latency", {}).get(label)
        if o is None:
            continue
        s, p = o["sequential"], r["sequential"]
        print(
            f"{label:<28} p95 {s['p95_ms']:>6.0f} -> {p['p95_ms']:>6.0f} ms, median "
            f"{s['median_ms']:>6.0f} -> {p['median_ms']:>6.0f} ms, req/s "
            f"{o['concurrent']['rps']:>5.1f} -> {r['concurrent']['rps']:>5.1f}"
        )
    old_queries = {p["label"]: p for p in old.get("queries", {}).get("large", {}).get("pages", [])}
    for p in new["queries"]["large"]["pages"]:
        o = old_queries.get(p["label"])
        if o is not None and o["queries"] != p["queries"]:
            print(f"{p['label']:<28} queries {o['queries']} -> {p['queries']}")


def _git_revision() -> str:
    git = shutil.which("git")
    if git is None:
        return ""
    result = subprocess.run(
        [git, "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    )
    return result.stdout.strip()


# --- Main ---------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict:
    if args.reuse:
        return run_reused(args)
    name = args.name or f"synthgov_bench_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="synthgov-dashboard-"))
    env = server_environment(work, f"{args.pg}/{name}", args.cache)
    small = args.small or max(args.datasets // 10, 100)
    now = datetime.now(UTC).isoformat()
    pages = [list(p) for p in PAGES + QUERY_ONLY_PAGES]
    report: dict[str, Any] = {
        "git": _git_revision(),
        "datasets": args.datasets,
        "workers": args.workers,
        "threads": args.threads,
        "cache": cache_backend(env),
        "requests": args.requests,
        "concurrency": args.concurrency,
        "machine": {"cpus": len(os.sched_getaffinity(0))},
    }
    report["machine"]["postgres"] = create_database(args.pg, name)
    _log(f"database {name}, work folder {work}")
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        _log(f"filling {small:,} datasets")
        first = _child("fill", {"start": 0, "stop": small, "now": now}, env)
        queries_small = _child("queries", {"pages": pages}, env)
        _log(f"filling up to {args.datasets:,} datasets")
        second = _child("fill", {"start": small, "stop": args.datasets, "now": now}, env)
        queries_large = _child("queries", {"pages": pages, "explain": True}, env)
        report["data"] = second["counts"]
        report["fill_seconds"] = first["seconds"] + second["seconds"]
        report["queries"] = {
            "small": {"datasets": first["counts"]["datasets"], **queries_small},
            "large": {"datasets": second["counts"]["datasets"], **queries_large},
        }
        process, port = start_server(env, work, args.workers, args.threads)
        try:
            cookies = {user: login(port, user) for user in ("regulator", "officer")}
            probe = CpuProbe(process.pid, args.pg, name)
            report["latency"] = {}
            for label, user, path in measured_pages(args):
                _log(f"measuring {label}: {path}")
                report["latency"][label] = measure_page(
                    port, cookies[user], path, args.requests, args.concurrency, probe
                )
        finally:
            stop_server(process)
    finally:
        if args.keep:
            print(
                f"\nkept: DATABASE_URL={args.pg}/{name} SYNTHGOV_VAR_DIR={work} "
                f"(users regulator, officer; password {PASSWORD})"
            )
        else:
            drop_database(args.pg, name)
            shutil.rmtree(work, ignore_errors=True)
    return report


def run_reused(args: argparse.Namespace) -> dict:
    """Measure again on a database an earlier ``--keep`` run filled (migrated to
    this code first): query counts at its size only, then latency. The database
    is kept."""
    env = server_environment(args.var, f"{args.pg}/{args.reuse}", args.cache)
    pages = [list(p) for p in PAGES + QUERY_ONLY_PAGES]
    report: dict[str, Any] = {
        "git": _git_revision(),
        "reused": args.reuse,
        "workers": args.workers,
        "threads": args.threads,
        "cache": cache_backend(env),
        "requests": args.requests,
        "concurrency": args.concurrency,
        "machine": {"cpus": len(os.sched_getaffinity(0))},
    }
    with _pg(f"{args.pg}/postgres") as conn:
        report["machine"]["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    counts = _child("counts", {}, env)
    report["datasets"] = counts["datasets"]
    report["data"] = counts
    report["queries"] = {
        "large": {"datasets": counts["datasets"], **_child("queries", {"pages": pages}, env)}
    }
    process, port = start_server(env, args.var, args.workers, args.threads)
    try:
        cookies = {user: login(port, user) for user in ("regulator", "officer")}
        probe = CpuProbe(process.pid, args.pg, args.reuse)
        report["latency"] = {}
        for label, user, path in measured_pages(args):
            _log(f"measuring {label}: {path}")
            report["latency"][label] = measure_page(
                port, cookies[user], path, args.requests, args.concurrency, probe
            )
    finally:
        stop_server(process)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument(
        "--small", type=int, help="datasets at the first query count (default: a tenth)"
    )
    parser.add_argument("--requests", type=int, default=200, help="per page and per mode")
    parser.add_argument(
        "--clients",
        "--concurrency",
        dest="concurrency",
        type=int,
        default=4,
        help="concurrent clients in the second measurement of each page",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn workers (deploy default: 2)"
    )
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per gunicorn worker (deploy default: 4)"
    )
    parser.add_argument(
        "--cache", default="", help="CACHE_URL for the server, e.g. redis://127.0.0.1:6379/5"
    )
    parser.add_argument("--name", help="the database to create (default: synthgov_bench_<pid>)")
    parser.add_argument(
        "--only", choices=["dashboard"], help="measure only the dashboard pages and its API"
    )
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--explain", action="store_true", help="print the slowest query's plan")
    parser.add_argument("--keep", action="store_true", help="keep the database and var folder")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--compare", type=Path, help="an earlier --json file to compare with")
    parser.add_argument(
        "--reuse", metavar="DB", help="measure again on a database kept by an earlier --keep"
    )
    parser.add_argument("--var", type=Path, help="with --reuse: the var folder --keep printed")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child](json.loads(args.spec))))
        return 0
    if args.datasets < 200:
        parser.error("--datasets must be at least 200")
    if args.reuse and args.var is None:
        parser.error("--reuse needs --var (both are printed by a --keep run)")
    report = run(args)
    if args.json:  # first, so a printing mistake never loses a long run's figures
        args.json.write_text(json.dumps(report, indent=2))
    print_data(report)
    print_queries(report, explain=args.explain)
    print_latency(report)
    if args.compare:
        compare(json.loads(args.compare.read_text()), report)
    missed = [
        f"{k} ({mode}, {r[mode]['p95_ms']:.0f} ms)"
        for k, r in report["latency"].items()
        for mode in ("sequential", "concurrent")
        if r[mode]["p95_ms"] >= TARGET_P95_MS
    ]
    print(
        f"\np95 target missed on: {', '.join(missed)}"
        if missed
        else f"\nall pages p95 < {TARGET_P95_MS} ms, one client and {report['concurrency']} at once"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
