"""Builders for the engine's tests: a small parent standard, a child, a rule. No database."""

from __future__ import annotations

from typing import Any

from audits.standards.engine import RuleSpec, StandardSpec


def rule(
    key: str, operator: str, threshold: Any, severity: str = "major", **extra: Any
) -> RuleSpec:
    extra.setdefault("rationale", f"why {key}")
    extra.setdefault("clause", "Test clause")
    return RuleSpec(key, operator, threshold, severity, **extra)


def base_rules() -> list[RuleSpec]:
    return [
        rule("quality.overall", ">=", 0.75, "major"),
        rule("privacy.exact_match_rate", "<=", 0.01, "major"),
        rule("registry.licence", "one_of", ["CC-BY-4.0", "CC0-1.0", "MIT"], "minor"),
        rule("registry.has_holdout_audit", "=", True, "major"),
        rule("registry.generator_type", "present", None, "minor"),
        rule("quality.detection", ">=", 0.2, "advisory"),
    ]


def base_standard() -> StandardSpec:
    return StandardSpec(
        code="BASE",
        name="Test base",
        version="1.0",
        scope="global",
        certificate_validity_days=730,
        reaudit_interval_days=365,
        rules=base_rules(),
    )


def child_standard(*rules: RuleSpec, **fields: Any) -> StandardSpec:
    values: dict[str, Any] = {
        "code": "CHILD",
        "name": "Test child",
        "version": "1.0",
        "scope": "local",
        "jurisdictions": ["EU"],
        "parent": "BASE@1.0",
        "rules": list(rules),
    }
    values.update(fields)
    return StandardSpec(**values)
