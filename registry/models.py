"""Datasets, their immutable versions, lineage and datasheets."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from synthgov.accounts.models import Organisation
from synthgov.accounts.permissions import DATASET_VIEW, organisations_where


class DatasetKind(models.TextChoices):
    REAL = "real", "Real"
    FULLY_SYNTHETIC = "fully_synthetic", "Fully synthetic"
    PARTIALLY_SYNTHETIC = "partially_synthetic", "Partially synthetic"
    HYBRID = "hybrid", "Hybrid"


class Access(models.TextChoices):
    OPEN = "open", "Open (every signed-in user)"
    RESTRICTED = "restricted", "Restricted (organisation and its regulators)"


class Tag(models.Model):
    name = models.SlugField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DatasetQuerySet(models.QuerySet["Dataset"]):
    def visible_to(self, user: Any) -> DatasetQuerySet:
        """Open datasets for every active signed-in user; restricted ones for the
        owning organisation and regulators whose jurisdiction covers it."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        orgs = organisations_where(user, DATASET_VIEW).values("id")
        return self.filter(Q(access=Access.OPEN) | Q(organisation__in=orgs))


class Dataset(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="datasets"
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=DatasetKind.choices)
    domain = models.CharField(
        max_length=64, help_text="Subject area, e.g. education, health, finance."
    )
    description = models.TextField(blank=True)
    licence = models.CharField(
        max_length=64, help_text="SPDX licence identifier, e.g. CC-BY-4.0 or LicenseRef-Internal."
    )
    access = models.CharField(max_length=16, choices=Access.choices, default=Access.RESTRICTED)
    intended_uses = models.TextField(blank=True)
    prohibited_uses = models.TextField(blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="datasets")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # The newest version, kept by the upload service so lists and the dashboard
    # join it directly instead of searching each dataset's versions.
    latest_version = models.OneToOneField(
        "DatasetVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = DatasetQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="unique_dataset_name")
        ]
        indexes = [models.Index(fields=["kind"]), models.Index(fields=["domain"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("registry:dataset", args=[self.pk])

    @property
    def owning_organisation(self) -> Organisation:
        return self.organisation

    @property
    def is_synthetic(self) -> bool:
        return self.kind != DatasetKind.REAL


class VersionQuerySet(models.QuerySet["DatasetVersion"]):
    def visible_to(self, user: Any) -> VersionQuerySet:
        return self.filter(dataset__in=Dataset.objects.visible_to(user))

    def published(self) -> VersionQuerySet:
        """Versions published openly: anyone, signed in or not, may read them."""
        return self.filter(published_at__isnull=False)

    def readable_by_organisation(self, organisation: Organisation) -> VersionQuerySet:
        """Versions every member of ``organisation`` may read: open ones and its own.
        The boundary for what an audit requested for the organisation may compute
        from (a regulator's jurisdiction reach belongs to the regulator, not to the
        organisations it covers)."""
        return self.filter(Q(dataset__access=Access.OPEN) | Q(dataset__organisation=organisation))

    def shown_with(self, version: DatasetVersion) -> VersionQuerySet:
        """Versions everyone who may see ``version`` may also see: open ones, and, when
        ``version`` is restricted, its own organisation's (same readers). What a
        document published with ``version`` (its manifest) may name."""
        if version.dataset.access == Access.OPEN:
            return self.filter(dataset__access=Access.OPEN)
        return self.readable_by_organisation(version.dataset.organisation)


class DatasetVersion(models.Model):
    """One uploaded file. The file and its facts never change once stored;
    the curator may correct the column schema (types and roles)."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        PARQUET = "parquet", "Parquet"
        TABLES = "tables", "Several tables"

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    # Stored under its content hash; the original name is metadata only. A version of
    # several tables has no file of its own (blank): each of its ``tables`` has one.
    file = models.FileField(max_length=200, blank=True)
    # One table: the stored file's SHA-256. Several: registry.relational.version_sha256
    # over the tables' names and SHA-256s (the version's hash covers every table).
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.PositiveBigIntegerField()
    row_count = models.PositiveBigIntegerField()
    column_count = models.PositiveIntegerField()
    format = models.CharField(max_length=16, choices=Format.choices)
    encoding = models.CharField(max_length=32, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    compressed = models.CharField(max_length=16, blank=True, help_text="Compression of upload.")
    original_name = models.CharField(max_length=255)
    schema = models.JSONField(default=list, help_text="[{name, type, role}] per column.")
    profile = models.JSONField(default=dict)
    # Declared at upload: cell values that mean "missing" in this file (UCI Adult's
    # "?"). Every reader of the stored file (version_table_info) treats them as NaN;
    # the file itself stays as uploaded.
    missing_markers = models.JSONField(
        default=list, blank=True, help_text='Values read as missing, e.g. ["?"].'
    )
    note = models.TextField(blank=True, help_text="What changed in this version.")
    # How many tables (``tables``) the version holds; 1 for every single-table version.
    # With several, the file facts above are totals (size, rows, columns) and the
    # schema and profile live on each table.
    table_count = models.PositiveIntegerField(default=1)
    # False while the keys are SynthGov's inferred proposal that the curator has not
    # yet confirmed or corrected; True once declared or confirmed.
    keys_confirmed = models.BooleanField(default=True)
    # Set on versions SynthGov watermarked: which organisation key marked it (never the
    # key itself) and the parameters and measurements of the embedding.
    watermark_key_id = models.CharField(max_length=32, blank=True, db_index=True)
    watermark = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    # Open publication: set while the version is published for everyone, with no
    # account (a public landing page and download). Only a synthetic version that
    # carries its organisation's watermark and a valid signed manifest may be
    # published (audits.publishing); withdrawing clears both fields.
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = VersionQuerySet.as_manager()

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="unique_version_number"),
            models.UniqueConstraint(fields=["dataset", "sha256"], name="unique_version_content"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset.name} v{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("registry:version", args=[self.pk])

    @property
    def owning_organisation(self) -> Organisation:
        return self.dataset.organisation

    @property
    def is_published(self) -> bool:
        """Whether the version is published openly (public page and download)."""
        return self.published_at is not None

    def column(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.schema if c["name"] == name), None)

    @property
    def is_relational(self) -> bool:
        """Whether the version holds several linked tables."""
        return self.table_count > 1


class VersionTable(models.Model):
    """One named table of a version, stored, hashed and profiled like a single-table
    version's file. A single-table version has exactly one, mirroring its own file
    facts (kept equal by the registry services)."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="tables")
    name = models.CharField(max_length=63)
    position = models.PositiveIntegerField()
    file = models.FileField(max_length=200)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.PositiveBigIntegerField()
    row_count = models.PositiveBigIntegerField()
    column_count = models.PositiveIntegerField()
    format = models.CharField(max_length=16, choices=DatasetVersion.Format.choices)
    encoding = models.CharField(max_length=32, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    compressed = models.CharField(max_length=16, blank=True)
    original_name = models.CharField(max_length=255)
    schema = models.JSONField(default=list)
    profile = models.JSONField(default=dict)
    # The column whose values identify each row (blank: none declared).
    primary_key = models.CharField(max_length=255, blank=True)
    # What key inference found at upload, offered when the curator confirms or
    # corrects the keys: {"primary_keys": [column, ...], "foreign_keys": [{parent_table,
    # parent_key, child_table, child_key}, ...]} (this table as the child).
    key_candidates = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="unique_table_name"),
            models.UniqueConstraint(fields=["version", "position"], name="unique_table_position"),
        ]

    def __str__(self) -> str:
        return f"{self.version} · {self.name}"

    def column(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.schema if c["name"] == name), None)


class TableRelationship(models.Model):
    """A foreign key: ``child_table.child_key`` refers to ``parent_table.parent_key``
    (the parent's primary key), as SDMetrics' relationships say."""

    version = models.ForeignKey(
        DatasetVersion, on_delete=models.CASCADE, related_name="relationships"
    )
    parent_table = models.ForeignKey(
        VersionTable, on_delete=models.CASCADE, related_name="child_links"
    )
    parent_key = models.CharField(max_length=255)
    child_table = models.ForeignKey(
        VersionTable, on_delete=models.CASCADE, related_name="parent_links"
    )
    child_key = models.CharField(max_length=255)

    class Meta:
        ordering = ["version", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["child_table", "child_key"], name="unique_foreign_key_column"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.child_table.name}.{self.child_key} → {self.parent_table.name}.{self.parent_key}"
        )


class Relation(models.TextChoices):
    TRAINED_ON = "trained_on", "trained on"
    DERIVED_FROM = "derived_from", "derived from"
    MERGED_WITH = "merged_with", "merged with"
    HOLDOUT_OF = "holdout_of", "holdout of"
    AUGMENTS = "augments", "augments"
    WATERMARKED_FROM = "watermarked_from", "watermarked from"


class LineageEdge(models.Model):
    child = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="parent_edges")
    parent = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="child_edges")
    relation = models.CharField(max_length=32, choices=Relation.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["child", "parent"], name="unique_lineage_edge"),
            models.CheckConstraint(condition=~Q(child=models.F("parent")), name="no_self_parent"),
        ]

    def __str__(self) -> str:
        return f"{self.child} {self.get_relation_display()} {self.parent}"


class GeneratorType(models.TextChoices):
    NONE = "", "None (not generated)"
    GAN = "gan", "GAN"
    VAE = "vae", "VAE"
    DIFFUSION = "diffusion", "Diffusion model"
    COPULA = "copula", "Copula"
    BAYESIAN_NETWORK = "bayesian_network", "Bayesian network"
    LLM = "llm", "Large language model"
    SIMULATION = "simulation", "Simulation"
    RULE_BASED = "rule_based", "Rule-based"
    IMPUTATION = "imputation", "Imputation"
    OTHER = "other", "Other"


class PrivacyMechanism(models.TextChoices):
    NONE = "", "None"
    DIFFERENTIAL_PRIVACY = "differential_privacy", "Differential privacy"
    K_ANONYMITY = "k_anonymity", "k-anonymity"
    SUPPRESSION = "suppression", "Suppression / generalisation"
    OTHER = "other", "Other"


class Generation(models.Model):
    """How a version was produced: generator, parameters, privacy, compute."""

    version = models.OneToOneField(
        DatasetVersion, on_delete=models.CASCADE, related_name="generation"
    )
    generator_type = models.CharField(max_length=32, choices=GeneratorType.choices, blank=True)
    generator_library = models.CharField(max_length=100, blank=True)
    generator_version = models.CharField(max_length=50, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    seed = models.BigIntegerField(null=True, blank=True)
    privacy_mechanism = models.CharField(
        max_length=32, choices=PrivacyMechanism.choices, blank=True
    )
    epsilon = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0)])
    delta = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0)])
    compute_description = models.CharField(max_length=300, blank=True)
    energy_kwh = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0)])
    carbon_kg = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0)])
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Generation of {self.version}"

    @property
    def generator_label(self) -> str:
        if not self.generator_type:
            return ""
        label = self.get_generator_type_display()
        lib = " ".join(x for x in [self.generator_library, self.generator_version] if x)
        return f"{label} ({lib})" if lib else label


# The generation facts a curator declares: the API shows them and the trail
# records them when they change.
GENERATION_FIELDS: tuple[str, ...] = (
    "generator_type",
    "generator_library",
    "generator_version",
    "parameters",
    "seed",
    "privacy_mechanism",
    "epsilon",
    "delta",
    "compute_description",
    "energy_kwh",
    "carbon_kg",
)


DATASHEET_SECTIONS: list[tuple[str, str, str]] = [
    ("motivation", "Motivation", "Why was the dataset created, by whom, funded by whom?"),
    ("composition", "Composition", "What do the records represent; how many; what is missing?"),
    ("collection", "Collection", "How were the underlying real data collected, and when?"),
    ("preprocessing", "Preprocessing", "Cleaning, labelling, filtering applied before use."),
    ("uses", "Uses", "Tasks the dataset suits, and uses to avoid."),
    ("distribution", "Distribution", "Who may receive it, under which licence and terms."),
    ("maintenance", "Maintenance", "Who maintains it, how errors are reported and fixed."),
    ("generation_method", "Generation method", "Model, training data, parameters, seeds."),
    ("real_sources", "Real sources", "Which real datasets the generator learned from."),
    ("known_limitations", "Known limitations", "Where the data is known to be poor or biased."),
    ("bias_mitigation", "Bias mitigation", "What was done to measure and reduce bias."),
    ("watermarking", "Watermarking", "How records are marked as synthetic, and how to check."),
]
# Sections about how synthetic data was made: they do not apply to real data, so a
# real dataset's datasheet neither shows nor counts them.
SYNTHETIC_ONLY_SECTIONS: frozenset[str] = frozenset(
    {"generation_method", "real_sources", "watermarking"}
)
# A section counts as answered when it says at least this much.
DATASHEET_MIN_WORDS = 3


def datasheet_sections_for(kind: str) -> list[tuple[str, str, str]]:
    """The (key, label, question) sections that apply to a dataset of ``kind``:
    all of them for synthetic kinds, those not in ``SYNTHETIC_ONLY_SECTIONS`` for real."""
    if kind == DatasetKind.REAL:
        return [s for s in DATASHEET_SECTIONS if s[0] not in SYNTHETIC_ONLY_SECTIONS]
    return list(DATASHEET_SECTIONS)


class Datasheet(models.Model):
    version = models.OneToOneField(
        DatasetVersion, on_delete=models.CASCADE, related_name="datasheet"
    )
    motivation = models.TextField(blank=True)
    composition = models.TextField(blank=True)
    collection = models.TextField(blank=True)
    preprocessing = models.TextField(blank=True)
    uses = models.TextField(blank=True)
    distribution = models.TextField(blank=True)
    maintenance = models.TextField(blank=True)
    generation_method = models.TextField(blank=True)
    real_sources = models.TextField(blank=True)
    known_limitations = models.TextField(blank=True)
    bias_mitigation = models.TextField(blank=True)
    watermarking = models.TextField(blank=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Datasheet of {self.version}"

    def sections(self) -> dict[str, str]:
        return {key: getattr(self, key) for key, _, _ in DATASHEET_SECTIONS}

    def applicable_sections(self) -> list[tuple[str, str, str]]:
        """The sections that apply to this version's dataset kind."""
        return datasheet_sections_for(self.version.dataset.kind)

    @property
    def completeness(self) -> float:
        """Share of the sections that apply to the dataset's kind that are answered
        (0..1): twelve for synthetic data, nine for real data."""
        return datasheet_completeness(self.sections(), kind=self.version.dataset.kind)


def datasheet_completeness(sections: dict[str, str], *, kind: str) -> float:
    applicable = datasheet_sections_for(kind)
    answered = sum(
        1
        for key, _, _ in applicable
        if len((sections.get(key) or "").split()) >= DATASHEET_MIN_WORDS
    )
    return round(answered / len(applicable), 4)


class WatermarkRun(models.Model):
    """A curator's request to watermark a version; the worker makes the new version."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(
        DatasetVersion, on_delete=models.CASCADE, related_name="watermark_runs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    tolerances = models.JSONField(default=dict)
    categorical = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    step = models.CharField(max_length=200, blank=True)
    result = models.OneToOneField(
        DatasetVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    # When a task was last handed to the broker (None: the sweeper sends one),
    # and when a worker took the run (a run still "running" after the task time
    # limit has no worker any more).
    dispatched = models.DateTimeField(null=True, blank=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Watermark of {self.source} ({self.status})"

    @property
    def done(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class StorageCheck(models.Model):
    """One re-hash of a version's stored file by the storage scrub."""

    class Outcome(models.TextChoices):
        OK = "ok", "Matches its SHA-256"
        ALTERED = "altered", "Altered since upload"
        MISSING = "missing", "Missing from storage"

    version = models.ForeignKey(
        DatasetVersion, on_delete=models.CASCADE, related_name="storage_checks"
    )
    checked = models.DateTimeField(db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    # The SHA-256 found (blank when the file is missing).
    sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-checked", "-id"]
        indexes = [models.Index(fields=["version", "-checked"])]

    def __str__(self) -> str:
        return f"{self.version}: {self.outcome} at {self.checked:%Y-%m-%d %H:%M}"
