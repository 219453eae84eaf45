"""The audits app's models, one module per concern, all under the app label
``audits`` (table names, content types and the trail's ``audits.*`` object
types are unchanged):

- ``runs``: audit runs and their figures;
- ``standards``: standards, their versions and rules;
- ``compliance``: evaluations of a dataset version against a standard;
- ``certification``: sign-offs, certificates and notifications;
- ``populations``: population profiles and jurisdictions' default profiles.
"""

from audits.models.certification import (
    DECISIONS_DONE,
    Certificate,
    CertificateQuerySet,
    CertificateSequence,
    CertificateStatus,
    Notification,
    NotificationQuerySet,
    SignOff,
    SignOffDecision,
    SignOffQuerySet,
    SignOffRole,
    new_verify_token,
)
from audits.models.compliance import (
    ComplianceEvaluation,
    EvaluationQuerySet,
    EvaluationStatus,
    RuleOutcome,
)
from audits.models.populations import (
    JurisdictionProfile,
    PopulationProfile,
    PopulationProfileQuerySet,
)
from audits.models.runs import (
    FINISHED_STATUSES,
    AuditMetric,
    AuditRun,
    AuditRunQuerySet,
    AuditStatus,
    Integrity,
)
from audits.models.standards import (
    Rule,
    Standard,
    StandardScope,
    StandardVersion,
    StandardVersionQuerySet,
)

__all__ = [
    "DECISIONS_DONE",
    "FINISHED_STATUSES",
    "AuditMetric",
    "AuditRun",
    "AuditRunQuerySet",
    "AuditStatus",
    "Certificate",
    "CertificateQuerySet",
    "CertificateSequence",
    "CertificateStatus",
    "ComplianceEvaluation",
    "EvaluationQuerySet",
    "EvaluationStatus",
    "Integrity",
    "JurisdictionProfile",
    "Notification",
    "NotificationQuerySet",
    "PopulationProfile",
    "PopulationProfileQuerySet",
    "Rule",
    "RuleOutcome",
    "SignOff",
    "SignOffDecision",
    "SignOffQuerySet",
    "SignOffRole",
    "Standard",
    "StandardScope",
    "StandardVersion",
    "StandardVersionQuerySet",
    "new_verify_token",
]
