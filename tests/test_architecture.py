"""The shape of the code (issue 12): no import cycles, and no first-party import
hidden inside a function unless pyproject.toml names why.

The import-linter contracts (``make lint``) say which way imports may go
between the packages they name; these tests hold every first-party module to
the two rules that apply everywhere. Run them alone with
``pytest -m architecture``.
"""

from __future__ import annotations

import ast
import itertools
import tomllib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grimp
import pytest

pytestmark = pytest.mark.architecture

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("audits", "registry", "synthgov")
# A name imported from any of these is ours (tests and bench should never be
# imported by the code, but if they were, that would be ours too).
FIRST_PARTY = frozenset({*PACKAGES, "tests", "bench"})
ALLOW_LIST_TABLE = "[tool.synthgov.deferred-imports]"


def _is_migration(module: str) -> bool:
    return "migrations" in module.split(".")


# --- Import cycles -----------------------------------------------------------

Graph = dict[str, set[str]]


@pytest.fixture(scope="module")
def imports() -> grimp.ImportGraph:
    # Imports inside functions are edges too: hiding one there hides no cycle.
    return grimp.build_graph(*PACKAGES, include_external_packages=False, cache_dir=None)


def _module_graph(graph: grimp.ImportGraph) -> Graph:
    modules = {m for m in graph.modules if not _is_migration(m)}
    return {
        m: {t for t in graph.find_modules_directly_imported_by(m) if t in modules} for m in modules
    }


def _source_file(module: str) -> str:
    path = ROOT.joinpath(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    return str(path.relative_to(ROOT))


def _unit(module: str, depth: int) -> str:
    """The package ``depth`` names deep that holds ``module`` (a shallower module is its own)."""
    return ".".join(module.split(".")[:depth])


def _collapsed(modules: Graph, depth: int) -> Graph:
    """The graph of packages ``depth`` names deep: each module counts as its package."""
    collapsed: Graph = {}
    for importer, imported in modules.items():
        unit = _unit(importer, depth)
        targets = collapsed.setdefault(unit, set())
        targets.update(_unit(t, depth) for t in imported if _unit(t, depth) != unit)
    return collapsed


def _strongly_connected(graph: Graph) -> list[list[str]]:
    """Groups of two or more nodes that all reach each other (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, ())))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    return sorted(groups)


def _shortest_cycle(graph: Graph, start: str, within: set[str]) -> list[str]:
    """The shortest chain from ``start`` back to itself through ``within``."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for successor in sorted(graph.get(node, ())):
            if successor not in within:
                continue
            if successor == start:
                chain = [node]
                while chain[-1] != start:
                    chain.append(came_from[chain[-1]])
                return [*reversed(chain), start]
            if successor not in came_from:
                came_from[successor] = node
                queue.append(successor)
    raise AssertionError(f"{start} is in no cycle")  # pragma: no cover


def _describe_cycles(
    graph: Graph, groups: list[list[str]], where: Callable[[str, str], str]
) -> str:
    """Each group of mutually importing nodes, and the shortest cycle through each
    of its members as a chain (``a -> b -> a``), each link saying ``where``."""
    lines = []
    for group in groups:
        lines.append(f"{len(group)} in a cycle: {', '.join(group)}")
        seen: set[tuple[str, ...]] = set()
        for member in group:
            chain = _shortest_cycle(graph, member, set(group))
            # The same cycle found from another member: compare it from its smallest name.
            turn = chain.index(min(chain[:-1]))
            key = tuple(chain[turn:-1] + chain[:turn])
            if key in seen:
                continue
            seen.add(key)
            links = [chain[0]] + [
                f"  -> {imported} ({where(importer, imported)})"
                for importer, imported in itertools.pairwise(chain)
            ]
            lines.append("   " + "\n     ".join(links))
    return "\n".join(lines)


def test_no_import_cycles_between_modules(imports: grimp.ImportGraph) -> None:
    def where(importer: str, imported: str) -> str:
        details = imports.get_import_details(importer=importer, imported=imported)
        lines = ", ".join(str(d["line_number"]) for d in details) or "?"
        return f"{_source_file(importer)}:{lines}"

    modules = _module_graph(imports)
    cycles = _describe_cycles(modules, _strongly_connected(modules), where)
    assert not cycles, (
        "First-party modules import each other in a cycle (migrations aside; imports "
        "inside functions count). Decide which module is the lower layer and move the "
        "code the lower one needs from the higher one down (or the other way), so "
        "imports go one way:\n" + cycles
    )


def test_no_import_cycles_between_packages(imports: grimp.ImportGraph) -> None:
    """Packages too: ``registry`` and ``audits``, ``synthgov.accounts`` and
    ``synthgov.trail``, ``audits.certification`` and ``audits.compliance`` may
    not import each other, even through modules that form no cycle themselves."""
    modules = _module_graph(imports)
    parents = {module.rpartition(".")[0] for module in modules}
    deepest = max(module.count(".") + 1 for module in modules)
    found = []
    for depth in range(1, deepest):

        def where(importer: str, imported: str, depth: int = depth) -> str:
            pairs = sorted(
                (m, t)
                for m in modules
                if _unit(m, depth) == importer
                for t in modules[m]
                if _unit(t, depth) == imported
            )
            more = f" and {len(pairs) - 1} more" if len(pairs) > 1 else ""
            return f"{pairs[0][0]} imports {pairs[0][1]}{more}"

        packages = _collapsed(modules, depth)
        # A group of plain modules is the module test's to report.
        groups = [
            group
            for group in _strongly_connected(packages)
            if any(unit.count(".") + 1 == depth and unit in parents for unit in group)
        ]
        cycles = _describe_cycles(packages, groups, where)
        if cycles:
            found.append(f"Packages {depth} name(s) deep:\n{cycles}")
    assert not found, (
        "First-party packages import each other in a cycle (each module counted as "
        "its package). Pick the direction the import contracts in pyproject.toml allow "
        "and move the modules that import the other way:\n" + "\n".join(found)
    )


# --- Imports inside functions ------------------------------------------------


@dataclass(frozen=True)
class DeferredImport:
    path: Path
    line: int
    module: str  # the importing module, e.g. "audits.services"
    function: str  # its qualified name, e.g. "AuditsConfig.ready"
    statement: str

    def allowed_by(self, key: str) -> bool:
        """``key`` is "module" or "module:Qualified.name" (a function or any
        function it is nested in)."""
        module, _, function = key.partition(":")
        if module != self.module:
            return False
        return not function or self.function == function or self.function.startswith(function + ".")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _first_party(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] in FIRST_PARTY
    return any(alias.name.split(".")[0] in FIRST_PARTY for alias in node.names)


class _DeferredImportFinder(ast.NodeVisitor):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.module = _module_name(path)
        self.scope: list[str] = []
        self.in_function = 0
        self.found: list[DeferredImport] = []

    def _enter(self, node: ast.AST, name: str, *, function: bool) -> None:
        self.scope.append(name)
        self.in_function += function
        self.generic_visit(node)
        self.in_function -= function
        self.scope.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._enter(node, node.name, function=False)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._enter(node, node.name, function=True)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._enter(node, node.name, function=True)

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        if self.in_function and _first_party(node):
            self.found.append(
                DeferredImport(
                    path=self.path.relative_to(ROOT),
                    line=node.lineno,
                    module=self.module,
                    function=".".join(self.scope),
                    statement=ast.unparse(node),
                )
            )

    visit_Import = _import
    visit_ImportFrom = _import


def _deferred_imports() -> Iterator[DeferredImport]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.relative_to(ROOT).parts:
                continue
            finder = _DeferredImportFinder(path)
            finder.visit(ast.parse(path.read_text(), filename=str(path)))
            yield from finder.found


def _allow_list() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config.get("tool", {}).get("synthgov", {}).get("deferred-imports", {})


def test_no_first_party_import_inside_a_function() -> None:
    allowed = _allow_list()
    refused = [d for d in _deferred_imports() if not any(d.allowed_by(key) for key in allowed)]
    assert not refused, (
        f"{len(refused)} first-party import(s) inside a function:\n"
        + "\n".join(f"  {d.path}:{d.line}: {d.statement}  (in {d.function}())" for d in refused)
        + "\nMove each to the top of its module. If that makes an import cycle, the code "
        "is in the wrong layer: move it so the lower module no longer needs the higher "
        "one. Only when the import must run late (AppConfig.ready() wiring checks or "
        "signals; a plain package loading an optional heavy submodule on first use), "
        f'name it with a one-line reason in pyproject.toml {ALLOW_LIST_TABLE}: "module" '
        'or "module:Qualified.function" = "why".'
    )


def test_every_allowed_deferred_import_exists_and_says_why() -> None:
    """An entry that matches nothing would let a new import in unexplained."""
    found = list(_deferred_imports())
    problems = []
    for key, reason in _allow_list().items():
        if not isinstance(reason, str) or not reason.strip():
            problems.append(f'  "{key}": give a one-line reason')
        if not any(d.allowed_by(key) for d in found):
            problems.append(f'  "{key}": no first-party import inside that function; remove it')
    assert not problems, f"pyproject.toml {ALLOW_LIST_TABLE}:\n" + "\n".join(problems)
