"""``python -m synthgov.client``: gate a generation pipeline on SynthGov's verdict."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from synthgov.client.api import (
    AuditFailed,
    Client,
    SynthGovError,
    UsageError,
    WaitTimeout,
    stderr_progress,
)
from synthgov.client.gate import (
    DEFAULT_FAIL_ON,
    EXIT_SERVER,
    EXIT_USAGE,
    SEVERITIES,
    as_json,
    decide,
    report,
)

DESCRIPTION = """\
Register a synthetic version with SynthGov, audit it and gate on the verdict,
the way a CI step gates a build: the exit code says whether a blocking rule of
the standard fails.

The server and the token come from --url/--token or, better (a token on the
command line shows in process lists), from SYNTHGOV_URL and SYNTHGOV_TOKEN.
Make a token with `python manage.py drf_create_token USERNAME` on the server.
"""

EPILOG = f"""\
exit codes:
  0  no blocking rule fails: the pipeline may go on
  1  a blocking rule fails (or has no figure, unless --allow-missing)
  2  what was asked cannot work: bad arguments, a file or option the server
     refuses (its message is printed), a wrong token, no such dataset or standard
  3  the server failed, could not be reached, the audit failed, or --timeout passed

A rule blocks when it fails and its severity is --fail-on or worse
({", ".join(reversed(SEVERITIES))}); the default, {DEFAULT_FAIL_ON}, is SynthGov's own line:
a failing blocking or major rule makes a version non-compliant.

example:
  export SYNTHGOV_URL=https://synthgov.example.org SYNTHGOV_TOKEN=...
  python -m synthgov.client gate --dataset "Placements (synthetic)" \\
      --file out/synthetic.csv --parent 12:trained_on --standard EU-SYNTH
"""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 too; say it our way
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def parent_link(text: str) -> tuple[int, str]:
    version, sep, relation = text.partition(":")
    if not sep or not version.strip().isdigit() or not relation.strip():
        raise argparse.ArgumentTypeError(
            f"{text!r}: give the parent as VERSION_ID:RELATION, e.g. 12:trained_on"
        )
    return int(version), relation.strip()


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("give a number of seconds above 0")
    return value


def version_id(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a version id (a positive number)")
    return int(text)


def read_datasheet(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            sections = json.load(handle)
    except OSError as exc:
        raise UsageError(f"Cannot read the datasheet {path}: {exc.strerror or exc}.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"The datasheet {path} is not JSON: {exc}.") from None
    if not isinstance(sections, dict):
        raise UsageError(f"The datasheet {path} must be a JSON object of sections.")
    return sections


def _common(parser: argparse.ArgumentParser) -> None:
    server = parser.add_argument_group("server")
    server.add_argument("--url", help="the SynthGov site (default: $SYNTHGOV_URL)")
    server.add_argument("--token", help="API token (default: $SYNTHGOV_TOKEN; prefer the variable)")
    server.add_argument(
        "--retries",
        type=int,
        default=4,
        metavar="N",
        help="resend after a lost connection or a 502/503/504 up to N times, waiting "
        "0.5 s, 1 s, 2 s… (default: 4)",
    )
    verdict = parser.add_argument_group("verdict")
    verdict.add_argument(
        "--standard", required=True, metavar="CODE", help="the standard's code, e.g. EU-SYNTH"
    )
    verdict.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        default=DEFAULT_FAIL_ON,
        help=f"lowest severity that blocks (default: {DEFAULT_FAIL_ON})",
    )
    verdict.add_argument(
        "--allow-missing",
        action="store_true",
        help="pass even if a blocking rule has no figure (by default that blocks)",
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--json", action="store_true", help="print one JSON document instead of the report"
    )
    output.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m synthgov.client",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gate = commands.add_parser(
        "gate",
        help="upload a file as a new version, audit it, gate on the standard",
        description="Upload FILE as the next version of DATASET, declare its parents, "
        "audit it against its real reference, wait, and gate on the standard's "
        "evaluation.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = gate.add_argument_group("data")
    data.add_argument("--dataset", required=True, metavar="NAME", help="the dataset's exact name")
    data.add_argument("--file", required=True, help="the CSV or Parquet file to register")
    data.add_argument("--note", default="", help="the version's note (e.g. the pipeline run)")
    data.add_argument(
        "--organisation", metavar="SLUG", help="the dataset's organisation, if several"
    )
    data.add_argument(
        "--parent",
        action="append",
        default=[],
        type=parent_link,
        metavar="ID:RELATION",
        help="a parent version and how this one derives from it (e.g. 12:trained_on); repeatable",
    )
    data.add_argument("--generator-type", metavar="TYPE", help="e.g. copula, gan, llm")
    data.add_argument("--generator-library", metavar="NAME", help="e.g. sdv")
    data.add_argument("--generator-version", metavar="VERSION", help="e.g. 1.17.0")
    data.add_argument(
        "--datasheet",
        metavar="FILE.json",
        help="the version's datasheet: a JSON object of sections, as GET "
        "/api/v1/versions/ID/datasheet/ returns one",
    )
    new = gate.add_argument_group(
        "registering the dataset", "when no dataset has that name, these register it"
    )
    new.add_argument("--kind", help="e.g. fully_synthetic")
    new.add_argument("--domain", help="e.g. education")
    new.add_argument("--licence", help="e.g. CC-BY-4.0")
    audit = gate.add_argument_group("audit")
    audit.add_argument(
        "--reference",
        type=version_id,
        metavar="ID",
        help="the real version to compare with (default: the first --parent)",
    )
    audit.add_argument("--holdout", type=version_id, metavar="ID", help="a real holdout version")
    audit.add_argument("--target", metavar="COLUMN", help="the outcome column")
    audit.add_argument("--positive-outcome", metavar="VALUE", help="the target's positive value")
    audit.add_argument(
        "--protected", nargs="+", metavar="COLUMN", help="protected attributes (fairness)"
    )
    audit.add_argument(
        "--quasi-identifier",
        dest="quasi_identifiers",
        nargs="+",
        metavar="COLUMN",
        help="quasi-identifiers (privacy)",
    )
    audit.add_argument("--sensitive", nargs="+", metavar="COLUMN", help="sensitive columns")
    audit.add_argument(
        "--families",
        nargs="+",
        metavar="FAMILY",
        help="audit only these families (default: all), e.g. quality privacy",
    )
    audit.add_argument("--seed", type=int, help="the audit's random seed")
    audit.add_argument(
        "--timeout",
        type=positive,
        default=1800.0,
        metavar="SECONDS",
        help="give up waiting after this long (default: 1800)",
    )
    audit.add_argument(
        "--poll", type=positive, default=2.0, metavar="SECONDS", help=argparse.SUPPRESS
    )
    _common(gate)

    status = commands.add_parser(
        "status",
        help="gate on a registered version's current evaluation",
        description="Read the current evaluation of an already audited version and gate "
        "on it, with the same report and exit codes as `gate`.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("version", type=version_id, metavar="VERSION_ID")
    _common(status)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    try:
        with Client.from_env(args.url, args.token, retries=args.retries) as client:
            if args.command == "gate":
                return _gate(client, args)
            return _status(client, args)
    except (UsageError, SynthGovError) as exc:
        return _fail(args, exc)


def _fail(args: argparse.Namespace, exc: SynthGovError) -> int:
    usage = isinstance(exc, UsageError) or (
        exc.is_client_error and not isinstance(exc, AuditFailed | WaitTimeout)
    )
    code = EXIT_USAGE if usage else EXIT_SERVER
    print(f"error: {exc.message}", file=sys.stderr)
    if args.json:
        print(json.dumps({"error": exc.message, "status": exc.status, "exit_code": code}))
    return code


def _progress(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text, file=sys.stderr, flush=True)


def _gate(client: Client, args: argparse.Namespace) -> int:
    standard = client.standard(args.standard)
    dataset = client.find_dataset(args.dataset, organisation=args.organisation)
    if dataset is None:
        given = {"kind": args.kind, "domain": args.domain, "licence": args.licence}
        if not all(given.values()):
            lacking = ", ".join(f"--{k}" for k, v in given.items() if not v)
            raise UsageError(
                f"No dataset named {args.dataset!r} is visible to you. To register it, "
                f"give {lacking} as well."
            )
        dataset = client.create_dataset(args.dataset, organisation=args.organisation, **given)
        _progress(args, f"registered dataset #{dataset['id']} {dataset['name']!r}")
    kinds = standard.get("dataset_kinds") or []
    if kinds and dataset.get("kind") not in kinds:
        raise UsageError(
            f"{standard['code']}@{standard['version']} does not apply to {dataset['name']!r}: "
            f"it covers {', '.join(kinds)} datasets, and this one is {dataset.get('kind')}."
        )
    reference = args.reference or (args.parent[0][0] if args.parent else None)
    if reference is None:
        raise UsageError("Name the real version to audit against: --reference ID (or --parent).")
    # What can be checked before anything is stored: the versions named exist for you.
    named = [reference, args.holdout, *(parent for parent, _ in args.parent)]
    for named_id in dict.fromkeys(v for v in named if v is not None):
        client.version(named_id)
    datasheet = read_datasheet(args.datasheet) if args.datasheet else None
    version = client.upload_version(dataset, args.file, note=args.note)
    _progress(
        args,
        f"uploaded {args.file} as version #{version['id']} (v{version.get('number')}) of "
        f"{dataset['name']!r}: {version.get('row_count')} rows, sha256 {version.get('sha256')}",
    )
    try:
        generation = {
            name: getattr(args, name)
            for name in ("generator_type", "generator_library", "generator_version")
            if getattr(args, name)
        }
        if args.parent or generation:
            version = client.set_lineage(version, parents=args.parent, generation=generation)
        if datasheet is not None:
            sheet = client.set_datasheet(version, datasheet)
            _progress(args, f"datasheet written: {round(100 * sheet['completeness'])}% complete")
        audit = client.request_audit(
            version,
            reference=reference,
            holdout=args.holdout,
            target=args.target,
            positive_outcome=args.positive_outcome,
            protected=args.protected,
            quasi_identifiers=args.quasi_identifiers,
            sensitive=args.sensitive,
            families=args.families,
            seed=args.seed,
        )
    except SynthGovError as exc:
        exc.message += f" (The file is registered as version #{version['id']}.)"
        raise
    _progress(args, f"audit #{audit['id']} queued against version #{reference}")
    audit = client.wait_for_audit(
        audit,
        timeout=args.timeout,
        poll_interval=args.poll,
        progress=None if args.quiet else stderr_progress,
    )
    _progress(args, f"waiting for the evaluation against {standard['code']}")
    evaluation = client.wait_for_evaluation(
        version,
        standard["code"],
        audit=audit,
        timeout=args.timeout,
        poll_interval=min(args.poll, 1.0),
    )
    context = {
        "dataset": dataset["id"],
        "version": version["id"],
        "audit": audit["id"],
        "version_url": f"{client.site}/versions/{version['id']}/",
        "audit_url": f"{client.site}/audits/{audit['id']}/",
    }
    heading = [
        f"{dataset['name']} v{version.get('number')} (version #{version['id']}), "
        f"audit #{audit['id']}",
        f"  {context['version_url']}",
    ]
    return _verdict(args, evaluation, context, heading)


def _status(client: Client, args: argparse.Namespace) -> int:
    standard = client.standard(args.standard)
    version = client.version(args.version)
    evaluation = client.evaluation(version, standard["code"])
    if evaluation is None:
        raise UsageError(
            f"Version #{version['id']} has no evaluation against {standard['code']}: "
            "it has not been audited yet, or the standard does not apply to its dataset."
        )
    context = {
        "dataset": version.get("dataset"),
        "version": version["id"],
        "version_url": f"{client.site}/versions/{version['id']}/",
    }
    heading = [
        f"Version #{version['id']} (v{version.get('number')})",
        f"  {context['version_url']}",
    ]
    return _verdict(args, evaluation, context, heading)


def _verdict(
    args: argparse.Namespace,
    evaluation: dict[str, Any],
    context: dict[str, Any],
    heading: list[str],
) -> int:
    verdict = decide(evaluation, fail_on=args.fail_on, allow_missing=args.allow_missing)
    if args.json:
        document = as_json(evaluation=evaluation, verdict=verdict, context=context)
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(report(evaluation=evaluation, verdict=verdict, heading=heading))
    return verdict.exit_code
