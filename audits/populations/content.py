"""A profile's content: parsing (form, CSV, YAML) and validation, in plain Python.

The content is a list of *groupings*, each naming one or more attributes (columns of
the data; two or more make an intersection) and the expected share of each group::

    [{"attributes": ["sex"],
      "groups": [{"values": ["Female"], "share": 0.51}, {"values": ["Male"], "share": 0.49}]}]

Every share is in [0, 1] and each grouping's shares sum to 1 within ``SUM_TOLERANCE``
(published census shares are rounded). Problems come back as sentences, never raised
from deep inside a parser, and nothing is stored unless there are none.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Any

import yaml

SUM_TOLERANCE = 0.01
MAX_TEXT_CHARS = 200_000
MAX_GROUPINGS = 20
MAX_GROUPS = 500
MAX_NAME_CHARS = 200
MAX_VALUE_CHARS = 200
CSV_SEPARATOR = "|"
CSV_HEADER = ["attribute", "group", "share"]


class ContentError(ValueError):
    """The content cannot be used; ``problems`` says what to fix, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class ProfileContent:
    """What a profile states, as entered or imported (metadata may be empty in CSV)."""

    groupings: list[dict[str, Any]]
    name: str = ""
    source: str = ""
    source_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _share(raw: Any, where: str, problems: list[str]) -> float | None:
    if isinstance(raw, bool):
        problems.append(f"{where}: the share must be a number from 0 to 1, not {raw!r}.")
        return None
    try:
        value = float(str(raw).strip()) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError, OverflowError):
        problems.append(f"{where}: the share must be a number from 0 to 1, not {str(raw)[:40]!r}.")
        return None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        problems.append(f"{where}: the share {str(raw)[:40]} is outside 0 to 1.")
        return None
    return value


def _name(raw: Any, what: str, where: str, problems: list[str]) -> str | None:
    if isinstance(raw, bool) or raw is None or isinstance(raw, dict | list):
        problems.append(f"{where}: the {what} must be text.")
        return None
    text = str(raw).strip()
    if not text or len(text) > MAX_VALUE_CHARS or any(ord(c) < 32 for c in text):
        problems.append(f"{where}: the {what} must be 1 to {MAX_VALUE_CHARS} printable characters.")
        return None
    return text


def validate_groupings(raw: Any) -> list[dict[str, Any]]:
    """The groupings in canonical form, or ContentError listing every problem."""
    problems: list[str] = []
    if not isinstance(raw, list) or not raw:
        raise ContentError(["Give at least one attribute with the share of each of its groups."])
    if len(raw) > MAX_GROUPINGS:
        raise ContentError(
            [f"A profile holds at most {MAX_GROUPINGS} attributes or intersections."]
        )
    out: list[dict[str, Any]] = []
    seen_attributes: set[tuple[str, ...]] = set()
    for i, grouping in enumerate(raw, start=1):
        where = f"Attribute {i}"
        if not isinstance(grouping, dict):
            problems.append(f"{where}: expected attributes and groups.")
            continue
        attrs_raw = grouping.get("attributes")
        if not isinstance(attrs_raw, list) or not attrs_raw or len(attrs_raw) > 3:
            problems.append(f"{where}: name one to three attributes (columns of the data).")
            continue
        attributes = [_name(a, "attribute", where, problems) for a in attrs_raw]
        if None in attributes:
            continue
        where = f"Attribute {' × '.join(attributes)}"  # type: ignore[arg-type]
        key = tuple(sorted(attributes))  # type: ignore[arg-type]
        if len(set(attributes)) != len(attributes):
            problems.append(f"{where}: an attribute is named twice.")
            continue
        if key in seen_attributes:
            problems.append(f"{where}: given twice.")
            continue
        seen_attributes.add(key)
        groups_raw = grouping.get("groups")
        if not isinstance(groups_raw, list) or not groups_raw:
            problems.append(f"{where}: give the share of each group.")
            continue
        if len(groups_raw) > MAX_GROUPS:
            problems.append(f"{where}: at most {MAX_GROUPS} groups.")
            continue
        groups: list[dict[str, Any]] = []
        seen_values: set[tuple[str, ...]] = set()
        for group in groups_raw:
            if not isinstance(group, dict) or not isinstance(group.get("values"), list):
                problems.append(f"{where}: each group needs its values and share.")
                continue
            if len(group["values"]) != len(attributes):
                problems.append(
                    f"{where}: each group needs one value per attribute ({len(attributes)})."
                )
                continue
            values = [_name(v, "group value", where, problems) for v in group["values"]]
            if None in values:
                continue
            label = " & ".join(values)  # type: ignore[arg-type]
            share = _share(group.get("share"), f"{where}, group {label}", problems)
            if share is None:
                continue
            if tuple(values) in seen_values:  # type: ignore[arg-type]
                problems.append(f"{where}: the group {label} is given twice.")
                continue
            seen_values.add(tuple(values))  # type: ignore[arg-type]
            groups.append({"values": values, "share": share})
        if len(groups) == len(groups_raw):
            total = math.fsum(g["share"] for g in groups)
            if abs(total - 1.0) > SUM_TOLERANCE:
                problems.append(
                    f"{where}: the shares sum to {total:.4g}; they must sum to 1 "
                    f"(within {SUM_TOLERANCE})."
                )
        out.append({"attributes": attributes, "groups": groups})
    if problems:
        raise ContentError(problems)
    return out


def parse_csv(text: str) -> ProfileContent:
    """``attribute,group,share`` rows; an intersection joins its attributes and its
    values with ``|`` (``sex|age_band,Female|18-29,0.09``)."""
    if len(text) > MAX_TEXT_CHARS:
        raise ContentError([f"The file is larger than {MAX_TEXT_CHARS:,} characters."])
    try:
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    except csv.Error as exc:
        raise ContentError([f"The CSV cannot be read: {exc}."]) from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows or [c.strip().lower() for c in rows[0]] != CSV_HEADER:
        raise ContentError([f"The first row must be the header {','.join(CSV_HEADER)}."])
    problems: list[str] = []
    by_attributes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != 3:
            problems.append(f"Line {number}: expected 3 cells (attribute, group, share).")
            continue
        attributes = tuple(a.strip() for a in row[0].split(CSV_SEPARATOR))
        values = [v.strip() for v in row[1].split(CSV_SEPARATOR)]
        if len(values) != len(attributes):
            problems.append(
                f"Line {number}: {len(attributes)} attribute(s) but {len(values)} value(s); "
                f"separate both with {CSV_SEPARATOR}."
            )
            continue
        if len(by_attributes) >= MAX_GROUPINGS and attributes not in by_attributes:
            raise ContentError([f"A profile holds at most {MAX_GROUPINGS} attributes."])
        by_attributes.setdefault(attributes, []).append({"values": values, "share": row[2]})
    if problems:
        raise ContentError(problems)
    groupings = [{"attributes": list(a), "groups": g} for a, g in by_attributes.items()]
    return ProfileContent(groupings=validate_groupings(groupings))


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without anchors and aliases (no "billion laughs")."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not accepted", event.start_mark
            )
        return super().compose_node(parent, index)


def parse_yaml(text: str) -> ProfileContent:
    """A mapping with ``name``, ``source``, ``source_url`` and ``groupings``; a grouping's
    ``shares`` is a mapping group -> share for one attribute, or a list of
    ``{values: [...], share: ...}`` for an intersection."""
    if len(text) > MAX_TEXT_CHARS:
        raise ContentError([f"The file is larger than {MAX_TEXT_CHARS:,} characters."])
    try:
        data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        raise ContentError([f"The YAML cannot be read: {str(exc)[:300]}"]) from None
    except RecursionError:
        raise ContentError(["The YAML is nested too deeply."]) from None
    if not isinstance(data, dict):
        raise ContentError(["The YAML must be a mapping with name, source and groupings."])
    unknown = sorted(str(k) for k in data if k not in ("name", "source", "source_url", "groupings"))
    if unknown:
        raise ContentError(
            [f"Unknown field(s): {', '.join(unknown)[:200]}; use name, source, source_url, "
             "groupings."]
        )  # fmt: skip
    raw = data.get("groupings")
    if not isinstance(raw, list):
        raise ContentError(["groupings must be a list of attributes with their shares."])
    if len(raw) > MAX_GROUPINGS:
        raise ContentError([f"A profile holds at most {MAX_GROUPINGS} attributes."])
    groupings = []
    for grouping in raw:
        if not isinstance(grouping, dict):
            groupings.append(grouping)  # validate_groupings names it
            continue
        attributes = grouping.get("attributes")
        if isinstance(attributes, str):
            attributes = [attributes]
        shares = grouping.get("shares")
        if isinstance(shares, dict):
            groups: Any = [{"values": [k], "share": v} for k, v in shares.items()]
        else:
            groups = shares
        groupings.append({"attributes": attributes, "groups": groups})
    meta = {k: data.get(k) for k in ("name", "source", "source_url")}
    for key, value in meta.items():
        if value is not None and not isinstance(value, str):
            raise ContentError([f"{key} must be text."])
    return ProfileContent(
        groupings=validate_groupings(groupings),
        name=(meta["name"] or "").strip(),
        source=(meta["source"] or "").strip(),
        source_url=(meta["source_url"] or "").strip(),
    )


def to_csv(groupings: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for grouping in groupings:
        for group in grouping["groups"]:
            writer.writerow(
                [
                    CSV_SEPARATOR.join(grouping["attributes"]),
                    CSV_SEPARATOR.join(group["values"]),
                    repr(group["share"]),
                ]
            )
    return out.getvalue()
