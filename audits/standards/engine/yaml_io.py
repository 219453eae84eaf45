"""Standards as YAML: parse with line numbers, dump in a fixed order, load the shipped ones.

Parsing works on YAML's node graph (``yaml.compose``) rather than on loaded Python
values, so every field and rule keeps the line it came from and every problem can
point at it. Parsing reports the shape of the document (syntax, unknown or repeated
fields, a list where text belongs, a date that is not a date); ``validate_standard``
reports what the content means. ``check_yaml`` does both.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from audits.standards.engine.inheritance import validate_standard
from audits.standards.engine.rules import (
    ALWAYS,
    REQUIRED_FIELDS,
    RULE_FIELDS,
    STANDARD_FIELDS,
    Operator,
    Problem,
    RuleSpec,
    Severity,
    StandardSpec,
    sort_problems,
    standard_fields,
)

TOP_FIELDS = (*STANDARD_FIELDS, "rules")
MAX_YAML_CHARS = 1_000_000
# A standard is three levels deep (standard, rules, rule); PyYAML composes nodes
# recursively, so thousands of levels would exhaust Python's stack.
MAX_YAML_DEPTH = 20
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "shipped"

_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
# Enough for any float written in full (1.8e308 has 309 digits), with signs and "_".
_MAX_NUMBER_CHARS = 400
# YAML 1.1 reads 1e-3 as text; a threshold written that way means a number.
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)$")


class _DepthLimitedLoader(yaml.SafeLoader):
    """SafeLoader that refuses documents nested deeper than ``MAX_YAML_DEPTH``."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self._depth >= MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"the document is nested more than {MAX_YAML_DEPTH} levels deep; "
                "a standard needs three",
                self.peek_event().start_mark,
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


# --- Parsing -----------------------------------------------------------------


def _compose(text: str | bytes) -> tuple[list[yaml.Node], list[Problem]]:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return [], [Problem(None, "", f"the file is not UTF-8 text ({exc.reason}).")]
    if len(text) > MAX_YAML_CHARS:
        return [], [Problem(None, "", f"the file is larger than {MAX_YAML_CHARS:,} characters.")]
    try:
        nodes = list(yaml.compose_all(text, Loader=_DepthLimitedLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        detail = exc.problem or "malformed YAML"
        if exc.context:
            started = exc.context_mark.line + 1 if exc.context_mark else None
            where = f" that started on line {started}" if started and started != line else ""
            detail = f"{detail} ({exc.context}{where})"
        hint = _syntax_hint(text, line, detail)
        return [], [Problem(line, "", f"YAML syntax error: {detail}.{hint}")]
    except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if position is not None else None
        return [], [Problem(line, "", f"YAML error: {exc}")]
    return [n for n in nodes if not (n.tag == _NULL and n.value == "")], []


def _syntax_hint(text: str, line: int | None, detail: str) -> str:
    lines = text.splitlines()
    source = lines[line - 1] if line and 0 < line <= len(lines) else ""
    if re.search(r":\s*>", source):
        return " Quote the operator: operator: '>='."
    if "'\\t'" in detail:
        return " Indent with spaces, not tabs."
    if "mapping values are not allowed" in detail or "expected <block end>" in detail:
        return " Check the indentation, and quote text that contains ': '."
    return ""


def parse_yaml(text: str | bytes) -> tuple[StandardSpec | None, list[Problem]]:
    """One standard from a YAML document.

    Returns (spec, problems). ``spec`` is None when the text is not YAML, holds no
    standard or holds several; otherwise it is returned even with problems (then it is
    partial and must not be saved). Problems here are about the document's shape; run
    ``validate_standard`` (or use ``check_yaml``) for its meaning.
    """
    nodes, problems = _compose(text)
    if problems:
        return None, problems
    if not nodes:
        return None, [Problem(1, "", "the file holds no standard.")]
    if len(nodes) > 1:
        return None, [
            Problem(
                _line(nodes[1]),
                "",
                f"the file holds {len(nodes)} standards; import them together as a "
                "multi-document file.",
            )
        ]
    return _spec_from_node(nodes[0])


def parse_yaml_many(text: str | bytes) -> tuple[list[StandardSpec], list[Problem]]:
    """Every standard of a multi-document YAML file (documents separated by ``---``).

    Besides each document's shape problems, reports a ``CODE@VERSION`` given twice and
    cycles of parents among the documents (A extends B extends A).
    """
    nodes, problems = _compose(text)
    if problems:
        return [], problems
    specs: list[StandardSpec] = []
    for node in nodes:
        spec, found = _spec_from_node(node)
        problems.extend(found)
        if spec is not None:
            specs.append(spec)
    if not nodes:
        problems.append(Problem(1, "", "the file holds no standard."))
    problems.extend(_batch_problems(specs))
    return specs, sort_problems(problems)


def check_yaml(
    text: str | bytes, *, known_parents: Mapping[str, StandardSpec]
) -> tuple[list[StandardSpec], list[Problem]]:
    """Parse a (multi-document) file and validate every standard in it against
    ``known_parents`` plus the file's own standards: every problem, sorted by line.
    Save the standards only when the problem list is empty."""
    specs, problems = parse_yaml_many(text)
    seen = {(p.line, p.field) for p in problems}
    known = {**known_parents, **{s.ref: s for s in specs}}
    for spec in specs:
        for problem in validate_standard(spec, known_parents=known):
            # A field whose shape was wrong got a default; what follows from that
            # default is not a second problem.
            if (problem.line, problem.field) not in seen:
                seen.add((problem.line, problem.field))
                problems.append(problem)
    return specs, sort_problems(problems)


def _batch_problems(specs: list[StandardSpec]) -> list[Problem]:
    problems: list[Problem] = []
    by_ref: dict[str, StandardSpec] = {}
    for spec in specs:
        if spec.ref in by_ref:
            first = by_ref[spec.ref].line_of("code")
            problems.append(
                Problem(
                    spec.line_of("code"),
                    "code",
                    f"{spec.ref} appears twice in the file (first on line {first}).",
                )
            )
            continue
        by_ref[spec.ref] = spec
    for spec in by_ref.values():
        path = [spec.ref]
        current = spec.parent
        while current in by_ref and current not in path:
            path.append(current)
            current = by_ref[current].parent
        if current == spec.ref:
            chain = " → ".join([*path, current])
            problems.append(
                Problem(spec.line_of("parent"), "parent", f"cycle of parents: {chain}.")
            )
    return problems


class _Reader:
    """Turns one document's nodes into a StandardSpec, collecting shape problems."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, line: int | None, field: str, message: str) -> None:
        self.problems.append(Problem(line, field, message))

    def fields(
        self, node: yaml.MappingNode, allowed: tuple[str, ...], prefix: str, what: str
    ) -> tuple[dict[str, yaml.Node], dict[str, int]]:
        values: dict[str, yaml.Node] = {}
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = _line(key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(line, prefix.rstrip("."), f"{what} field names must be plain text.")
                continue
            name = key_node.value
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.problem(
                    line,
                    f"{prefix}{name}",
                    f"unknown {what} field '{name}'{hint}; {what} fields are {', '.join(allowed)}.",
                )
                continue
            if name in values:
                self.problem(
                    line,
                    f"{prefix}{name}",
                    f"field '{name}' is given twice (first on line {lines[name]}).",
                )
                continue
            values[name] = value_node
            lines[name] = line
        return values, lines

    def text(self, node: yaml.Node | None, field: str, line: int) -> str | None:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL):
            return None
        if not isinstance(node, yaml.ScalarNode):
            self.problem(line, field, f"{field} must be text, not a list or mapping.")
            return None
        return node.value  # as written: "1.10" stays "1.10", "yes" stays "yes"

    def text_list(self, node: yaml.Node | None, field: str, line: int) -> list[str]:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.problem(line, field, f"{field} must be a list, e.g. [EU].")
            return []
        items = []
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode) or item.tag == _NULL:
                self.problem(_line(item), field, f"{field} lists plain text values only.")
                continue
            items.append(item.value)
        return items

    def day(self, node: yaml.Node | None, field: str, line: int) -> date | None:
        value = self.text(node, field, line)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.problem(line, field, f"{field} '{value}' is not a date; write YYYY-MM-DD.")
            return None

    def whole_number(self, node: yaml.Node | None, field: str, line: int) -> int | None:
        value = self.scalar(node, field, line)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(line, field, f"{field} must be a whole number of days.")
            return None
        return value

    def flag(self, node: yaml.Node | None, field: str, line: int) -> bool:
        value = self.scalar(node, field, line)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.problem(line, field, f"{field} must be true or false.")
            return False
        return value

    def scalar(self, node: yaml.Node | None, field: str, line: int) -> Any:
        if node is None:
            return None
        if not isinstance(node, yaml.ScalarNode):
            self.problem(line, field, f"{field} must be a single value, not a list or mapping.")
            return None
        if node.tag == _STR and node.style is None and _NUMBER.match(node.value):
            return float(node.value)
        if node.tag == _INT and len(node.value) > _MAX_NUMBER_CHARS:
            # Python refuses to read integers of more than 4,300 digits, and any
            # beyond 309 digits is larger than a float: no figure is compared with it.
            self.problem(
                line,
                field,
                f"{field}: a number of {len(node.value):,} characters is too large; "
                "write a number below 1e308.",
            )
            return None
        try:
            value = yaml.SafeLoader("").construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            self.problem(line, field, f"{field}: {problem}.")
            return None
        if isinstance(value, date | datetime | bytes):
            self.problem(line, field, f"{field} must be a number, text or true/false.")
            return None
        return value

    def threshold(self, node: yaml.Node | None, field: str, line: int) -> Any:
        if isinstance(node, yaml.MappingNode):
            self.problem(line, field, "a threshold is a number, text, true/false or a list.")
            return None
        if isinstance(node, yaml.SequenceNode):
            items = []
            for item in node.value:
                if not isinstance(item, yaml.ScalarNode):
                    self.problem(_line(item), field, "one_of lists single values, not lists.")
                    continue
                items.append(self.scalar(item, field, _line(item)))
            return items
        return self.scalar(node, field, line)


def _spec_from_node(node: yaml.Node) -> tuple[StandardSpec | None, list[Problem]]:
    reader = _Reader()
    if not isinstance(node, yaml.MappingNode):
        return None, [
            Problem(
                _line(node),
                "",
                "a standard is a mapping of fields (code, name, version, scope, rules, …).",
            )
        ]
    values, lines = reader.fields(node, TOP_FIELDS, "", "standard")
    for name in (*REQUIRED_FIELDS, "rules"):
        # Missing fields are reported by validation, at the document's first line.
        lines.setdefault(name, _line(node))
    spec = StandardSpec(code="", name="", version="", scope="", field_lines=lines)
    readers = {
        "text": reader.text,
        "codes": reader.text_list,
        "date": reader.day,
        "days": reader.whole_number,
    }
    for kind, read in readers.items():  # one kind after another, as problems are listed
        for name in standard_fields(kind):
            value = read(values.get(name), name, lines.get(name, _line(node)))
            if value or kind != "text":  # absent or empty text keeps "" (parent: None)
                setattr(spec, name, value)
    spec.rules = _rules(reader, values.get("rules"), lines.get("rules", 0))
    return spec, reader.problems


def _rules(reader: _Reader, node: yaml.Node | None, line: int) -> list[RuleSpec]:
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL):
        return []
    if not isinstance(node, yaml.SequenceNode):
        reader.problem(line, "rules", "rules must be a list of rules (each starting with '- ').")
        return []
    rules = []
    for index, item in enumerate(node.value):
        if not isinstance(item, yaml.MappingNode):
            reader.problem(
                _line(item), f"rules[{index}]", "a rule is a mapping with key, operator, …"
            )
            continue
        rules.append(_rule_from_node(reader, item, f"rules[{index}]"))
    return rules


def _rule_from_node(reader: _Reader, node: yaml.MappingNode, prefix: str) -> RuleSpec:
    values, lines = reader.fields(node, RULE_FIELDS, f"{prefix}.", "rule")

    def text(name: str) -> str:
        return reader.text(values.get(name), f"{prefix}.{name}", lines.get(name, 0)) or ""

    return RuleSpec(
        key=text("key"),
        operator=text("operator"),
        threshold=reader.threshold(
            values.get("threshold"), f"{prefix}.threshold", lines.get("threshold", 0)
        ),
        severity=text("severity"),
        rationale=text("rationale"),
        clause=text("clause"),
        waived=reader.flag(values.get("waived"), f"{prefix}.waived", lines.get("waived", 0)),
        waiver_rationale=text("waiver_rationale"),
        applies=text("applies") or ALWAYS,
        population_profile=text("population_profile"),
        table=text("table"),
        line=_line(node),
        field_lines=lines,
    )


# --- Dumping -----------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style for the document, flow style for short lists, literal blocks for
    multi-line text, sequences indented under their key, no anchors."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar(_STR, value, style=style)


def _represent_list(dumper: yaml.SafeDumper, value: list) -> yaml.Node:
    flat = all(not isinstance(item, list | dict) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flat)


_Dumper.add_representer(str, _represent_text)
_Dumper.add_representer(list, _represent_list)


def _plain(value: Any) -> Any:
    if isinstance(value, Operator | Severity):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _rule_data(rule: RuleSpec) -> dict[str, Any]:
    data: dict[str, Any] = {"key": rule.key}
    # Written only when set, like applies and population_profile below.
    if rule.table:
        data["table"] = rule.table
    data["operator"] = _plain(rule.operator)
    quiet = rule.waived  # a waiver needs only key, operator and its rationale
    if rule.threshold is not None or not (quiet or rule.operator == Operator.PRESENT):
        data["threshold"] = _plain(rule.threshold)
    for name in ("severity", "rationale", "clause"):
        value = _plain(getattr(rule, name))
        if value or not quiet:
            data[name] = value
    if rule.waived:
        data["waived"] = True
    if rule.waived or rule.waiver_rationale:
        data["waiver_rationale"] = rule.waiver_rationale
    # Written only when set: a standard written before they existed dumps (and so
    # hashes, spec_sha256) as it did.
    if rule.applies != ALWAYS:
        data["applies"] = rule.applies
    if rule.population_profile:
        data["population_profile"] = rule.population_profile
    return data


def _standard_data(spec: StandardSpec) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in TOP_FIELDS:
        value = getattr(spec, name)
        if name == "rules":
            value = [_rule_data(rule) for rule in spec.rules]
        elif isinstance(value, list):
            value = list(value)
        data[name] = value
    return data


def dump_yaml(spec: StandardSpec) -> str:
    """The standard as YAML: every field, always in the same order, for review and
    diffs. ``parse_yaml(dump_yaml(s))`` gives back ``s``."""
    return yaml.dump(
        _standard_data(spec),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=88,
    )


def dump_yaml_many(specs: list[StandardSpec]) -> str:
    """Several standards as one multi-document file (for ``parse_yaml_many``)."""
    return "".join("---\n" + dump_yaml(spec) for spec in specs)


# --- Shipped standards ---------------------------------------------------------


def parent_first(specs: list[StandardSpec]) -> list[StandardSpec]:
    """``specs`` ordered so that every parent comes before its children (then by code
    and version). Raises ValueError on a cycle."""
    by_ref = {spec.ref: spec for spec in specs}

    def depth(spec: StandardSpec) -> int:
        seen = {spec.ref}
        count, current = 0, spec.parent
        while current in by_ref:
            if current in seen:
                raise ValueError(f"cycle of parents through {current}")
            seen.add(current)
            count, current = count + 1, by_ref[current].parent
        return count

    return sorted(specs, key=lambda s: (depth(s), s.code, s.version))


def load_shipped() -> list[StandardSpec]:
    """The standards shipped in ``shipped/*.yaml``, parents first. Raises ValueError
    when one does not parse or validate (they are data, tested like code)."""
    specs = []
    for path in sorted(SHIPPED_DIR.glob("*.yaml")):
        spec, problems = parse_yaml(path.read_text(encoding="utf-8"))
        if spec is None or problems:
            raise ValueError(f"{path.name}: " + "; ".join(str(p) for p in problems))
        specs.append(spec)
    known = {spec.ref: spec for spec in specs}
    for spec in specs:
        problems = validate_standard(spec, known_parents=known)
        if problems:
            raise ValueError(f"{spec.ref}: " + "; ".join(str(p) for p in problems))
    return parent_first(specs)


def load_shipped_version(code: str, version: str) -> StandardSpec:
    """One shipped standard by ``code`` and ``version``: the current text in
    ``shipped/``, or a superseded one kept word for word in ``shipped/superseded/``
    (certificates issued under it keep their evidence). Raises LookupError when
    SynthGov never shipped it, ValueError when its text does not parse."""
    for path in sorted(SHIPPED_DIR.glob("*.yaml")) + sorted(SHIPPED_DIR.glob("superseded/*.yaml")):
        spec, problems = parse_yaml(path.read_text(encoding="utf-8"))
        if spec is None or problems:
            raise ValueError(f"{path.name}: " + "; ".join(str(p) for p in problems))
        if (spec.code, spec.version) == (code, version):
            return spec
    raise LookupError(f"SynthGov ships no {code}@{version}.")
