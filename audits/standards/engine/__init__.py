"""SynthGov's standards engine: rules, inheritance, YAML and evaluation. No Django.

Public interface (the compliance services call exactly this)::

    from audits.standards import engine

    spec, problems = engine.parse_yaml(text)            # one standard, shape problems
    specs, problems = engine.parse_yaml_many(text)      # several; duplicates, cycles
    specs, problems = engine.check_yaml(text, known_parents=known)   # parse + validate
    problems = engine.validate_standard(spec, known_parents=known)   # [] when valid
    text = engine.dump_yaml(spec)                       # parse_yaml(text)[0] == spec
    rules = engine.effective_rules(spec, parent_effective_rules_or_None)
    rules = engine.resolve_effective_rules(spec, known_parents=known)
    rows = engine.diff_from_parent(spec, parent_effective_rules)
    result = engine.evaluate(rules, {"quality.overall": engine.FigureValue(0.82, {"audit": 7})})
    result.status; result.results; result.summary(); result.to_json()
    engine.load_shipped()                               # shipped standards, parents first

Vocabulary
- ``Operator`` (StrEnum): ">=", "<=", "=", "present", "one_of"; ``.label`` is ≥, ≤, =,
  "is present", "is one of".
- ``Severity`` (StrEnum): blocking, major, minor, advisory; ``.rank`` 3..0 and the
  comparison operators order by rank (``Severity.BLOCKING > Severity.MAJOR``).
- Keys: ``audits.checks.catalogue.METRICS`` (audit figures), ``REGISTRY_FACTS``
  (``registry.licence`` … ``provenance.watermark``: key -> FactSpec with description,
  value_type, choices, value_range), ``FUTURE_METRICS`` / ``FUTURE_PREFIXES``
  (reserved keys: accepted, never produced yet, so evaluated as missing; none at
  present). ``key_info(key)`` says which.

Data
- ``RuleSpec`` (frozen): key, operator, threshold (float | str | bool | list | None),
  severity, rationale="", clause="", waived=False, waiver_rationale="",
  applies="always" (or "when_measured": advisory rules only; the rule does not apply
  when the audit reports its figure as not measurable, with the reason),
  population_profile="" (a population figure's rule judged against this published
  profile, NAME@VERSION, instead of the jurisdiction's default), line=None,
  field_lines={}. ``to_json`` writes applies and population_profile only when set.
  Valid operator/severity text becomes the enum; ints become floats;
  ``line``/``field_lines`` (1-based YAML lines) are left out of equality.
  A waiver needs only key, operator, ``waived: true`` and ``waiver_rationale``.
- ``StandardSpec``: code, name, version, scope ("global" | "local"), jurisdictions,
  sectors, dataset_kinds, parent ("CODE@VERSION" or None), description, source,
  effective_from, effective_to (inclusive dates or None), certificate_validity_days,
  reaudit_interval_days, rules, field_lines (not compared). ``.ref`` is CODE@VERSION.
- ``STANDARD_FIELDS`` (name -> "text" | "codes" | "date" | "days", in YAML order;
  ``standard_fields(kind)`` picks one kind), ``REQUIRED_FIELDS`` and ``RULE_FIELDS``:
  the one list of a standard's and a rule's fields; YAML, the database rows, the API
  and the forms take theirs from it.
- ``describe_rule(key, operator, threshold)`` -> "quality.overall ≥ 0.80" (what
  ``RuleSpec.describe()`` and ``RuleResult.rule_text`` say); ``operator_label(op)``.
- ``Problem`` (frozen): line (1-based or None), field ("parent", "rules[2].threshold";
  rules counted from 0), message. ``str(problem)`` reads "line 12: field: message".
- ``EffectiveRule``: rule, origin ("inherited" | "tightened" | "added" | "waived"),
  parent_rule. A waived one carries the parent's rule with ``waived=True`` and the
  child's ``waiver_rationale``; it evaluates as "waived" and descendants drop it.
- ``RuleDiff``: key, operator, parent, child (None when inherited untouched), change
  (origins plus "refused"), text ("threshold 0.80 → 0.85"), effective.
- ``FigureValue`` (frozen): value (float | str | bool | None), source ({"audit": 12},
  {"registry": "registry.licence"}), uncertainty. A key absent from the figures is
  "missing" for every operator; a value of None is "missing" for comparisons and a
  fail for ``present`` — so pass registry facts that are unset as None, not absent.
- ``Evaluation``: status ("compliant" | "non_compliant" | "incomplete"), results
  (``RuleResult``: key, operator, threshold, severity, status "pass" | "fail" |
  "missing" | "not_applicable" | "waived", sentence, value, source, uncertainty, margin (positive =
  shortfall), within_uncertainty, origin, rationale, clause, waiver_rationale,
  produced_by (audit family | "registry" | "future"), needs), fails first by worst
  severity then margin. ``summary()`` -> {"status", "pass", "fail", "missing",
  "waived", "total", "worst_failing_severity"} (and "not_applicable" when a rule did
  not apply); ``sources()``; ``to_json()``. ``FigureValue.not_measured`` (the audit's
  reason a figure could not be measured) makes when-measured rules not applicable and
  others missing; ``derive_figures`` adds ``privacy.dp_claim_consistent`` (claimed
  epsilon vs the attack's proven bound); ``evaluate(..., population_profiles=)`` judges
  population figures only against the profile the standard requires.

Statuses as people read them (``status.py``; every page, the API and the public
verify page take their words, CSS class and colour from here)
- ``STATUS_KINDS`` (code -> ``StatusKind``: label, colour, symbol, order, meaning, css)
  and ``STATUS_ORDER``: compliant, compliant_with_findings, non_compliant,
  incomplete ("Figures missing"), not_audited, not_applicable.
- ``status_view(stored_status, fails_by_severity=..., missing_count=...)`` (and
  ``status_view_of_row(values_row)``) ->
  ``StatusView`` (kind, label "Compliant, 1 advisory", severity_summary): only a
  failing blocking or major rule is non-compliant (``SEVERE_SEVERITIES``).
- ``rule_status_view(status, severity)`` and ``certificate_status_view(verdict)``:
  the same palette for one rule's result and for a certificate.

Errors: ``effective_rules`` and ``resolve_effective_rules`` raise ``InheritanceError``
(``.problems``) for a loosening, a waiver without rationale or of a rule the parent
lacks, an unknown parent or a cycle; ``validate_standard`` reports the same as
problems instead. Dates of applicability and which datasets a standard applies to are
the caller's business; ``effective_period`` gives the certificate and re-audit periods
in force (own value, else the nearest ancestor's).
"""

from audits.standards.engine.evaluate import (
    COMPLIANT,
    DP_CLAIM,
    INCOMPLETE,
    NON_COMPLIANT,
    NOT_APPLICABLE_RESULT,
    Evaluation,
    FigureValue,
    ProfileRequirement,
    RuleResult,
    derive_figures,
    evaluate,
    single_table_figures,
)
from audits.standards.engine.inheritance import (
    ORIGINS,
    EffectiveRule,
    InheritanceError,
    RuleDiff,
    diff_from_parent,
    effective_period,
    effective_rules,
    resolve_chain,
    resolve_effective_rules,
    validate_standard,
)
from audits.standards.engine.rules import (
    ALWAYS,
    APPLIES,
    DATASET_KINDS,
    DERIVED_FIGURES,
    FUTURE_METRICS,
    FUTURE_PREFIXES,
    POPULATION_KEYS,
    REGISTRY_FACTS,
    REQUIRED_FIELDS,
    RULE_FIELDS,
    STANDARD_FIELDS,
    WHEN_MEASURED,
    FactSpec,
    KeyInfo,
    Operator,
    Problem,
    RuleSpec,
    Severity,
    StandardSpec,
    describe_rule,
    is_future_key,
    key_info,
    known_keys,
    operator_label,
    profile_reference,
    standard_fields,
)
from audits.standards.engine.status import (
    COMPLIANT_WITH_FINDINGS,
    NOT_APPLICABLE,
    NOT_AUDITED,
    SEVERE_SEVERITIES,
    STATUS_KINDS,
    STATUS_ORDER,
    RuleStatusView,
    StatusKind,
    StatusView,
    certificate_status_view,
    rule_status_view,
    severity_summary,
    status_view,
    status_view_of_row,
)
from audits.standards.engine.yaml_io import (
    SHIPPED_DIR,
    check_yaml,
    dump_yaml,
    dump_yaml_many,
    load_shipped,
    load_shipped_version,
    parent_first,
    parse_yaml,
    parse_yaml_many,
)

__all__ = [
    "ALWAYS",
    "APPLIES",
    "COMPLIANT",
    "COMPLIANT_WITH_FINDINGS",
    "DATASET_KINDS",
    "DERIVED_FIGURES",
    "DP_CLAIM",
    "FUTURE_METRICS",
    "FUTURE_PREFIXES",
    "INCOMPLETE",
    "NON_COMPLIANT",
    "NOT_APPLICABLE",
    "NOT_APPLICABLE_RESULT",
    "NOT_AUDITED",
    "ORIGINS",
    "POPULATION_KEYS",
    "REGISTRY_FACTS",
    "REQUIRED_FIELDS",
    "RULE_FIELDS",
    "SEVERE_SEVERITIES",
    "SHIPPED_DIR",
    "STANDARD_FIELDS",
    "STATUS_KINDS",
    "STATUS_ORDER",
    "WHEN_MEASURED",
    "EffectiveRule",
    "Evaluation",
    "FactSpec",
    "FigureValue",
    "InheritanceError",
    "KeyInfo",
    "Operator",
    "Problem",
    "ProfileRequirement",
    "RuleDiff",
    "RuleResult",
    "RuleSpec",
    "RuleStatusView",
    "Severity",
    "StandardSpec",
    "StatusKind",
    "StatusView",
    "certificate_status_view",
    "check_yaml",
    "derive_figures",
    "describe_rule",
    "diff_from_parent",
    "dump_yaml",
    "dump_yaml_many",
    "effective_period",
    "effective_rules",
    "evaluate",
    "is_future_key",
    "key_info",
    "known_keys",
    "load_shipped",
    "load_shipped_version",
    "operator_label",
    "parent_first",
    "parse_yaml",
    "parse_yaml_many",
    "profile_reference",
    "resolve_chain",
    "resolve_effective_rules",
    "rule_status_view",
    "severity_summary",
    "single_table_figures",
    "standard_fields",
    "status_view",
    "status_view_of_row",
    "validate_standard",
]
