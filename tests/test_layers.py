"""The package keeps its shape: imports point down the data flow, private names stay home.

Read from the source with :mod:`ast` (nothing under ``src/`` is imported, except in the
subprocesses that run light commands), so a violation is found even in code no test runs:

- ``layer``: a module imports only its own sub-package and the layers below it, in the order
  of :data:`LAYERS` (``training``, ``export``, ``server`` and ``ray`` are peers and do not
  import each other); module-level, function-level, ``TYPE_CHECKING`` and
  ``importlib.import_module`` imports all count. No module imports the package root
  (``nerkit/__init__``, the public API).
- ``conll-stdlib``: ``conll/`` imports only the standard library and ``nerkit.errors``, so that
  ``nerkit score`` and ``nerkit data`` run anywhere.
- ``private``: no ``_name`` is imported from, or read off, another module.
- ``cycle``: the import graph between modules has no cycle.
- ``long-function``: no function is over :data:`MAX_LINES` lines.
- ``light-command``: ``nerkit --help``, ``nerkit score`` and ``nerkit data`` never import
  numpy or torch.

Each failure names the file, the line and the rule.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SRC = Path(__file__).parents[1] / "src"
DATA = Path(__file__).parent / "data"
ROOT = "nerkit"

# Sub-packages (and top-level modules) from the bottom of the data flow to the top; a tuple
# holds peers, which may not import each other. The package root is above them all.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "_version"),
    ("conll",),
    ("modeling",),
    ("runtimes",),
    ("tagging",),
    ("training", "export", "server", "ray"),
    ("report",),  # draws with server.render, so above server
    ("cli",),
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}
ROOT_RANK = len(LAYERS)

# What conll/ may import from nerkit besides itself.
CONLL_ALLOWED = {"nerkit.errors"}
# Optional packages conll/ may import inside the functions that need them, never at module
# level: spaCy reads and writes DocBin files and splits the words of languages other than es/nl
# (the `spacy` extra). Reading a column file never reaches them: the subprocess checks below
# prove that `nerkit score` and `nerkit data` on one import neither numpy nor torch.
CONLL_LAZY_OPTIONAL = {"spacy"}
# Private modules that exist to be imported from anywhere (no module imports the root).
PUBLIC_PRIVATE_MODULES = {"nerkit._version"}

MAX_LINES = 80
# Functions allowed over MAX_LINES, "path:qualified.name" -> why. Keep it empty if you can.
LONG_FUNCTIONS_ALLOWED: dict[str, str] = {}

# TEMPORARY: violations in files other developers are reworking right now (issue 18); each is
# theirs to fix. The lead empties this set after merging; an entry that no longer occurs fails
# test_pending_entries_still_occur, so the list can only shrink.
PENDING: set[str] = set()

HEAVY = ("numpy", "torch")


@dataclass(frozen=True)
class Violation:
    rule: str
    path: str  # relative to src/
    line: int
    detail: str  # stable part of the key: no line number
    message: str

    @property
    def key(self) -> str:
        return f"{self.rule} {self.path} {self.detail}"

    def __str__(self) -> str:
        return f"src/{self.path}:{self.line}: [{self.rule}] {self.message}"


@dataclass(frozen=True)
class Import:
    """One import of a nerkit or outside module by one of ours."""

    module: str  # the importing module
    target: str  # module imported (for ``from m import name``: m, or m.name if a module)
    name: str | None  # the name taken from ``target``, if not a module
    line: int
    local: str | None  # the name it binds here (None for importlib.import_module)
    binds: str | None  # what that name refers to: a module, or module.name


# --- reading the source -------------------------------------------------------------------


def module_name(path: str) -> str:
    """``nerkit/tagging/files.py`` -> ``nerkit.tagging.files``; a package is its ``__init__``."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_sources(src: Path = SRC) -> dict[str, str]:
    """Every module of the package, ``{path relative to src: text}``."""
    return {
        p.relative_to(src).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted((src / ROOT).rglob("*.py"))
    }


def parse(sources: dict[str, str]) -> dict[str, ast.Module]:
    return {path: ast.parse(text, filename=path) for path, text in sources.items()}


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([name] if name else []))


def _dynamic_target(node: ast.Call) -> str | None:
    """The module of ``importlib.import_module("m")`` (or of an f-string's fixed prefix)."""
    func = node.func
    named = isinstance(func, ast.Attribute) and func.attr == "import_module"
    if not (named or isinstance(func, ast.Name) and func.id == "import_module") or not node.args:
        return None
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        prefix = str(arg.values[0].value)
        return prefix.rsplit(".", 1)[0] if "." in prefix else None
    return None


def imports(path: str, tree: ast.Module, modules: set[str]) -> Iterator[Import]:
    """Every import in a module, at any depth (functions and ``TYPE_CHECKING`` included)."""
    module = module_name(path)
    is_package = path.endswith("__init__.py")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                binds = alias.name if alias.asname else local  # import a.b binds a
                yield Import(module, alias.name, None, node.lineno, local, binds)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = _resolve_relative(module, is_package, node.level, node.module)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                local = alias.asname or alias.name
                if sub in modules:
                    yield Import(module, sub, None, node.lineno, local, sub)
                else:
                    yield Import(module, base, alias.name, node.lineno, local, sub)
        elif isinstance(node, ast.Call) and (dynamic := _dynamic_target(node)):
            yield Import(module, dynamic, None, node.lineno, None, None)


def is_ours(target: str) -> bool:
    return target == ROOT or target.startswith(ROOT + ".")


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def part(module: str) -> str:
    """The sub-package (or top-level module) a module belongs to; ``""`` for the root."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else ""


def all_imports(trees: dict[str, ast.Module]) -> dict[str, list[Import]]:
    modules = {module_name(p) for p in trees}
    return {path: list(imports(path, tree, modules)) for path, tree in trees.items()}


# --- the rules ----------------------------------------------------------------------------


def layer_violations(trees: dict[str, ast.Module]) -> Iterator[Violation]:
    for path, found in all_imports(trees).items():
        for imp in found:
            if not is_ours(imp.target):
                continue
            here, there = part(imp.module), part(imp.target)
            if here == there:
                continue
            if there not in RANK and there:
                yield Violation("layer", path, imp.line, f"unknown {there}",
                                f"imports {imp.target}: {there!r} is in no layer; add it to "
                                "LAYERS in tests/test_layers.py")
                continue
            if here not in RANK and here:
                yield Violation("layer", path, imp.line, f"unknown {here}",
                                f"{here!r} is in no layer; add it to LAYERS")
                continue
            mine = RANK.get(here, ROOT_RANK)
            theirs = RANK.get(there, ROOT_RANK)
            if not there:
                why = "imports the package root (the public API); import the module itself"
            elif theirs > mine:
                why = f"{here} imports {imp.target}, a layer above it (order: {_order()})"
            elif theirs == mine:
                why = f"{here} imports {imp.target}, a peer layer ({' / '.join(LAYERS[mine])})"
            else:
                continue
            yield Violation("layer", path, imp.line, f"-> {imp.target}", why)


def _order() -> str:
    return " < ".join("/".join(parts) for parts in LAYERS)


def module_level_lines(tree: ast.Module) -> set[int]:
    """Lines of the imports a module runs when it is imported (not inside a function)."""
    lines: set[int] = set()
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            lines.add(node.lineno)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            pending.extend(ast.iter_child_nodes(node))
    return lines


def conll_violations(trees: dict[str, ast.Module]) -> Iterator[Violation]:
    for path, found in all_imports(trees).items():
        if part(module_name(path)) != "conll":
            continue
        eager = module_level_lines(trees[path])
        for imp in found:
            target = imp.target
            if is_ours(target):
                if part(target) == "conll" or target in CONLL_ALLOWED:
                    continue
            elif target.split(".")[0] in sys.stdlib_module_names:
                continue
            elif target.split(".")[0] in CONLL_LAZY_OPTIONAL and imp.line not in eager:
                continue
            yield Violation("conll-stdlib", path, imp.line, f"-> {target}",
                            f"conll/ imports {target}; it may import only the standard library "
                            "and nerkit.errors (nerkit score and nerkit data run on it)")


def _private_defs(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, methods, classes, assigned names and
    ``self._x`` attributes."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
    return {n for n in names if is_private(n)}


def _bound_names(found: list[Import]) -> dict[str, str]:
    """Local names bound to one of our modules or to a name taken from one."""
    return {imp.local: imp.binds for imp in found if imp.local and imp.binds and is_ours(imp.binds)}


def _dotted(node: ast.expr) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; None for anything but names and attributes."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute) and (head := _dotted(node.value)):
        return [*head, node.attr]
    return None


def private_violations(trees: dict[str, ast.Module]) -> Iterator[Violation]:
    found_imports = all_imports(trees)
    defs = {module_name(p): _private_defs(t) for p, t in trees.items()}
    for path, tree in trees.items():
        module = module_name(path)
        yield from _private_imports(path, module, found_imports[path])
        bound = _bound_names(found_imports[path])
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and is_private(node.attr)):
                continue
            owner = _private_owner(node, module, bound, defs)
            if owner:
                yield Violation("private", path, node.lineno, f"{owner}.{node.attr}",
                                f"uses {node.attr}, private to {owner}; make it public "
                                "(no underscore) or keep the use inside that module")


def _private_imports(path: str, module: str, found: list[Import]) -> Iterator[Violation]:
    for imp in found:
        if not is_ours(imp.target) or imp.target == module:
            continue
        if imp.name is not None and is_private(imp.name):
            yield Violation("private", path, imp.line, f"{imp.target}.{imp.name}",
                            f"imports {imp.name}, private to {imp.target}; make it public "
                            "(no underscore) or keep the use inside that module")
        elif imp.target not in PUBLIC_PRIVATE_MODULES:
            private = [p for p in imp.target.split(".") if is_private(p)]
            home = imp.target.rsplit(".", 1)[0]
            if private and not module.startswith(home + "."):
                yield Violation("private", path, imp.line, imp.target,
                                f"imports {imp.target}, a private module of {home}")


def _private_owner(
    node: ast.Attribute, module: str, bound: dict[str, str], defs: dict[str, set[str]]
) -> str | None:
    """The other module whose private name ``node`` reads, or None."""
    value = node.value
    dotted = _dotted(value)
    if dotted and dotted[0] in bound:  # m._x, Class._x, nerkit.m._x
        return ".".join([bound[dotted[0]], *dotted[1:]])
    if isinstance(value, ast.Name) and value.id in ("self", "cls"):
        return None
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        if value.func.id == "super":
            return None
    if node.attr in defs.get(module, set()):
        return None
    owners = sorted(m for m, names in defs.items() if node.attr in names and m != module)
    return " / ".join(owners) or None


def cycle_violations(trees: dict[str, ast.Module]) -> Iterator[Violation]:
    modules = {module_name(p): p for p in trees}
    edges: dict[str, dict[str, int]] = {m: {} for m in modules}
    for found in all_imports(trees).values():
        for imp in found:
            if imp.target in modules and imp.target != imp.module:
                edges[imp.module].setdefault(imp.target, imp.line)
    for component in _strongly_connected(edges):
        members = sorted(component)
        first = members[0]
        steps = ", ".join(
            f"{m} -> {t} (src/{modules[m]}:{line})"
            for m in members
            for t, line in sorted(edges[m].items())
            if t in component
        )
        yield Violation("cycle", modules[first], edges[first][min(
            t for t in edges[first] if t in component)], " ".join(members),
            f"import cycle between {', '.join(members)}: {steps}")


def _strongly_connected(edges: dict[str, dict[str, int]]) -> list[set[str]]:
    """Tarjan's algorithm; only components of two modules or more (no self-edges here)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def long_function_violations(trees: dict[str, ast.Module]) -> Iterator[Violation]:
    for path, tree in trees.items():
        for qualname, node in _functions(tree):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > MAX_LINES and f"{path}:{qualname}" not in LONG_FUNCTIONS_ALLOWED:
                yield Violation("long-function", path, node.lineno, qualname,
                                f"{qualname} is {lines} lines (at most {MAX_LINES}); split it "
                                "into functions that each do one step")


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.AST]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + node.name, node
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


RULES = {
    "layer": layer_violations,
    "conll-stdlib": conll_violations,
    "private": private_violations,
    "cycle": cycle_violations,
    "long-function": long_function_violations,
}


# --- the package as it is -----------------------------------------------------------------


@pytest.fixture(scope="module")
def trees() -> dict[str, ast.Module]:
    return parse(read_sources())


def violations(rule: str, trees: dict[str, ast.Module]) -> list[Violation]:
    """A rule's violations, each once (``from m import a, b`` is one import line)."""
    return sorted(set(RULES[rule](trees)), key=lambda v: (v.path, v.line, v.detail))


@pytest.mark.parametrize("rule", RULES)
def test_rule_holds(trees: dict[str, ast.Module], rule: str) -> None:
    found = [v for v in violations(rule, trees) if v.key not in PENDING]
    assert not found, "\n" + "\n".join(str(v) for v in found)


def test_pending_entries_still_occur(trees: dict[str, ast.Module]) -> None:
    keys = {v.key for rule in RULES for v in violations(rule, trees)}
    stale = sorted(PENDING - keys)
    assert not stale, "fixed, so remove from PENDING in tests/test_layers.py:\n" + "\n".join(
        stale
    )


def test_allowed_long_functions_exist(trees: dict[str, ast.Module]) -> None:
    names = {f"{p}:{q}" for p, t in trees.items() for q, _ in _functions(t)}
    assert set(LONG_FUNCTIONS_ALLOWED) <= names


def test_every_sub_package_has_a_layer(trees: dict[str, ast.Module]) -> None:
    parts = {part(module_name(p)) for p in trees} - {""}
    assert parts <= set(RANK), f"add {sorted(parts - set(RANK))} to LAYERS"


# `nerkit score` and `nerkit data` must stay light: a subprocess runs the command and reports
# what it imported, and from which line of ours the first import of each heavy module came.
PROBE = """
import json, sys, traceback
sys.path.insert(0, sys.argv[1])
first = {{}}

class Watch:
    def find_spec(self, name, path=None, target=None):
        if name in {heavy!r} and name not in first:
            ours = [f for f in traceback.extract_stack() if f.filename.startswith(sys.argv[1])]
            first[name] = f"{{ours[-1].filename}}:{{ours[-1].lineno}}" if ours else "?"
        return None

sys.meta_path.insert(0, Watch())
from nerkit.cli import main
try:
    rc = main(sys.argv[3:])
except SystemExit as exit:
    rc = exit.code
heavy = {{m: first.get(m, "?") for m in {heavy!r} if m in sys.modules}}
with open(sys.argv[2], "w") as out:
    json.dump({{"rc": rc, "heavy": heavy, "file": sys.modules["nerkit"].__file__}}, out)
"""


def run_command(args: list[str], tmp_path: Path) -> dict[str, Any]:
    """Run ``nerkit ARGS`` in a fresh interpreter on this tree's source: its exit status,
    and ``{heavy module: "file:line" of ours that imported it first}``."""
    report = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get(
        "PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), str(SRC), str(report), *args],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert done.returncode == 0 and report.is_file(), done.stderr[-2000:]
    result = json.loads(report.read_text(encoding="utf-8"))
    assert Path(result["file"]).is_relative_to(SRC), result["file"]  # this tree, not another
    return result


@pytest.fixture
def scored_file(tmp_path: Path) -> Path:
    """tests/data/tiny.test with a predicted column (the gold tags again)."""
    lines = (DATA / "tiny.test").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "scored.txt"
    path.write_text("\n".join(f"{line} {line.split()[-1]}" if line.strip() else ""
                              for line in lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["score", "{scored}"],
        ["data", "stats", "{train}"],
        ["data", "convert", "{train}", "{out}", "--to", "bioes"],
    ],
    ids=["help", "score", "data-stats", "data-convert"],
)
def test_light_commands_import_no_numpy_or_torch(
    args: list[str], scored_file: Path, tmp_path: Path
) -> None:
    paths = {"scored": scored_file, "train": DATA / "tiny.train", "out": tmp_path / "out.txt"}
    argv = [a.format(**paths) for a in args]
    result = run_command(argv, tmp_path)
    assert result["rc"] == 0, f"nerkit {' '.join(argv)} exited with {result['rc']}"
    assert not result["heavy"], "\n".join(
        f"{Path(where).relative_to(SRC.parent) if where != '?' else '?'}: [light-command] "
        f"`nerkit {' '.join(args)}` imports {name} here; import it inside the function that "
        "needs it"
        for name, where in result["heavy"].items()
    )


# --- the checker itself, on small synthetic packages ---------------------------------------


def check(files: dict[str, str], rule: str) -> list[Violation]:
    sources = {f"nerkit/{p}": text for p, text in files.items()}
    return list(RULES[rule](parse(sources)))


def test_checker_finds_upward_peer_and_root_imports() -> None:
    found = check(
        {
            "conll/a.py": "def f():\n    from nerkit.tagging.tagger import Tagger\n",
            "tagging/tagger.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from nerkit.server import app\n",
            "server/app.py": "from nerkit.export import onnx\n",
            "export/onnx.py": "import nerkit\nfrom nerkit.tagging import tagger\n",
            "cli/x.py": "import importlib\nimportlib.import_module('nerkit.server.app')\n",
        },
        "layer",
    )
    assert [(v.path, v.line) for v in found] == [
        ("nerkit/conll/a.py", 2),
        ("nerkit/tagging/tagger.py", 3),
        ("nerkit/server/app.py", 1),
        ("nerkit/export/onnx.py", 1),
    ]
    assert "layer above" in found[0].message and "peer" in found[2].message
    assert "package root" in found[3].message
    assert str(found[0]).startswith("src/nerkit/conll/a.py:2: [layer]")


def test_checker_finds_relative_and_dynamic_imports() -> None:
    found = check(
        {
            "modeling/__init__.py": "",
            "modeling/crf.py": "from ..tagging import decode\n",
            "tagging/decode.py": "import importlib\n"
            "def f(n):\n    return importlib.import_module(f'nerkit.cli.{n}')\n",
        },
        "layer",
    )
    assert [(v.path, v.detail) for v in found] == [
        ("nerkit/modeling/crf.py", "-> nerkit.tagging.decode"),
        ("nerkit/tagging/decode.py", "-> nerkit.cli"),
    ]


def test_checker_keeps_conll_on_the_standard_library() -> None:
    found = check(
        {
            "conll/a.py": "import re\nfrom nerkit.errors import E\nfrom nerkit.conll import b\n"
            "def f():\n    import numpy\n",
            "conll/b.py": "from nerkit.modeling.folder import x\n",
        },
        "conll-stdlib",
    )
    assert [(v.path, v.line, v.detail) for v in found] == [
        ("nerkit/conll/a.py", 5, "-> numpy"),
        ("nerkit/conll/b.py", 1, "-> nerkit.modeling.folder"),
    ]


def test_checker_finds_private_names_across_modules() -> None:
    found = check(
        {
            "tagging/files.py": "def _records(): ...\nclass P:\n    def _forward(self): ...\n"
            "    def run(self):\n        return self._forward()\n",
            "tagging/predictor.py": "from nerkit.tagging.files import P\nP._forward\n",
            "server/render.py": "from nerkit.tagging.files import _records\n"
            "import nerkit.tagging.files as files\nfiles._records()\n"
            "def f(p):\n    return p._forward()\n",
            "cli/x.py": "from nerkit._version import __version__\n"
            "class A:\n    def _own(self): ...\n    def g(self, other):\n"
            "        return other._own(), super()._forward()\n",
        },
        "private",
    )
    assert [(v.path, v.line) for v in found] == [
        ("nerkit/tagging/predictor.py", 2),
        ("nerkit/server/render.py", 1),
        ("nerkit/server/render.py", 3),
        ("nerkit/server/render.py", 5),
    ]
    assert "_records, private to nerkit.tagging.files" in found[1].message


def test_checker_finds_cycles() -> None:
    found = check(
        {
            "export/onnx.py": "from nerkit.export import openvino\n",
            "export/openvino.py": "def f():\n    from nerkit.export.onnx import g\n",
            "export/common.py": "from nerkit.export import onnx\n",
        },
        "cycle",
    )
    assert len(found) == 1
    assert found[0].detail == "nerkit.export.onnx nerkit.export.openvino"
    assert "src/nerkit/export/openvino.py:2" in found[0].message


def test_checker_finds_long_functions() -> None:
    body = "    x = 1\n" * MAX_LINES
    found = check(
        {"tagging/a.py": f"def short():\n{body[:-10]}\nclass C:\n    def long(self):\n"
         + body.replace("    ", "        ")},
        "long-function",
    )
    assert [(v.line, v.detail) for v in found] == [(83, "C.long")]
