"""Each conda env in envs/ holds what its rules import, checked without conda (conda cannot run
here): for every rule with a script, the rule's env file must list a package for every
third-party module that running the script may import: its own imports, and those of the
candle_lib code it reaches, walked with ast from the script's top level through the functions
and names it uses (candle_lib imports heavy packages inside functions, which run only when
called); candle_lib itself comes from the env's `-e ..`.

The rules come from Snakemake's own parser (the Snakefile and its includes, every branch of their
`if`s and loops, no config needed). The same walk checks that scripts are named after their
rules, that every rule whose code reaches Keras declares its GPUs (rules/train.smk, KERAS_GPUS)
and no other rule does, and that the envs pin what requirements.lock pins."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from snakemake import parser
from snakemake.sourcecache import LocalSourceFile

REPO = Path(__file__).resolve().parents[2]

# import names whose distribution is named otherwise (any other import name is looked up among
# the installed distributions, else taken as the distribution's name)
DISTRIBUTIONS_OF = {
    "sklearn": {"scikit-learn"},
    "yaml": {"pyyaml"},
    "tensorflow": {"tensorflow", "tensorflow-cpu"},
    "PIL": {"pillow"},
}
KERAS = {"keras", "tensorflow"}  # a rule whose code reaches these trains or predicts with Keras
# conda envs named by a variable (rules/train.smk): its default, the CPU build (the CUDA env,
# envs/train-cuda.yaml, differs only in the TensorFlow build: tests/unit/hpc/test_gpu_install.py)
CONDA_NAMES = {"TRAINING_ENV": "../envs/train.yaml"}


def normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


@dataclass
class Rule:
    name: str  # a rule made in a loop keeps its f-string fields: "{stage}_table_page"
    snakefile: Path
    script: Path | None = None
    conda: Path | None = None
    resources: dict[str, str] = field(default_factory=dict)  # keyword -> source text


def _compiled(path: Path) -> ast.Module:
    """A Snakefile as Snakemake compiles it to Python (its own parser; nothing is run)."""
    sources = SimpleNamespace(open=lambda source: open(source.get_path_or_uri(secret_free=True)))
    code, _ = parser.parse(LocalSourceFile(str(path)), SimpleNamespace(sourcecache=sources), {})
    return ast.parse(code)


def _string(node: ast.expr) -> str:
    """A literal string, or an f-string with its fields kept as {field}."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}" for v in node.values
        )
    raise ValueError(f"not a string: {ast.unparse(node)}")


def _directive(decorator: ast.expr) -> tuple[str, ast.Call] | None:
    if (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and isinstance(decorator.func.value, ast.Name)
        and decorator.func.value.id == "workflow"
    ):
        return decorator.func.attr, decorator
    return None


def workflow_rules(snakefile: Path = REPO / "Snakefile") -> list[Rule]:
    """Every rule and checkpoint of the Snakefile and the files it includes, in every branch."""
    rules, base = [], snakefile.parent
    for node in ast.walk(_compiled(snakefile)):
        if isinstance(node, ast.Call) and (_directive(node) or ("",))[0] == "include":
            rules += workflow_rules(base / _string(node.args[0]))
        if not isinstance(node, ast.FunctionDef):
            continue
        directives = [d for d in map(_directive, node.decorator_list) if d]
        if not directives or directives[0][0] != "rule":
            continue
        rule = Rule("", snakefile)
        for name, call in directives:
            if name == "rule":
                rule.name = next((_string(k.value) for k in call.keywords if k.arg == "name" and _string(k.value)), "")
            elif name == "name":
                rule.name = _string(call.args[0])
            elif name == "script":
                rule.script = (base / _string(call.args[0])).resolve()
            elif name == "conda":
                env = call.args[0]
                env_file = CONDA_NAMES[env.id] if isinstance(env, ast.Name) else _string(env)
                rule.conda = (base / env_file).resolve()
            elif name == "resources":
                rule.resources = {k.arg: ast.unparse(k.value) for k in call.keywords}
        rules.append(rule)
    return rules


RULES = workflow_rules()
SCRIPT_RULES = [rule for rule in RULES if rule.script]


# --- what a script imports ----------------------------------------------------------------------
# Importing a module runs its top level (and its packages' __init__, the faces of candle_lib); a
# function's body runs, with the imports inside it (candle_lib imports heavy packages lazily
# there), only when something calls it. So the walk follows names: from the script's top level
# (which calls main) to every function, class and module-level value it uses, through
# `from ... import` and module attributes into candle_lib, and a face's PEP 562 names (_LAZY) to
# the submodule that defines them. A class counts with all its methods.


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    bindings: dict[str, list[tuple]]  # top-level name -> ("module", m) | ("from", m, attr) | ("def"|"value", node)
    lazy: dict[str, str]  # a package face's PEP 562 names -> the submodule that defines each


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _top_level(statements):
    """The statements that run at import (into if/try/with/for blocks, not `if TYPE_CHECKING:`)."""
    for node in statements:
        if _type_checking(node):
            yield from _top_level(node.orelse)
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            yield node
            for block in ("body", "orelse", "finalbody"):
                yield from _top_level(getattr(node, block, []))
            for handler in getattr(node, "handlers", []):
                yield from _top_level(handler.body)
        else:
            yield node


def _import_bindings(node: ast.Import | ast.ImportFrom, module: str, package: bool) -> dict[str, tuple]:
    if isinstance(node, ast.Import):
        return {
            alias.asname or alias.name.split(".")[0]: (
                "module",
                alias.name if alias.asname else alias.name.split(".")[0],
            )
            for alias in node.names
        }
    return {alias.asname or alias.name: ("from", _from_base(node, module, package), alias.name) for alias in node.names}


def _from_base(node: ast.ImportFrom, module: str, package: bool) -> str:
    if not node.level:
        return node.module
    parts = module.split(".") if package else module.split(".")[:-1]  # relative: this module's package
    parts = parts[: len(parts) - node.level + 1]
    return ".".join([*parts, *([node.module] if node.module else [])])


def _module_file(module: str) -> Path | None:
    path = REPO / Path(*module.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def _module(name: str) -> Module | None:
    """A candle_lib module and its top-level names; None if there is no such file."""
    path = _module_file(name) if name.split(".")[0] == "candle_lib" else None
    return _parse(name, path) if path else None


def _parse(name: str, path: Path) -> Module:
    tree = ast.parse(path.read_text(), str(path))
    bindings, lazy = {}, {}
    for node in _top_level(tree.body):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for local, target in _import_bindings(node, name, path.name == "__init__.py").items():
                bindings.setdefault(local, []).append(target)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bindings.setdefault(node.name, []).append(("def", node))
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name):
                        bindings.setdefault(leaf.id, []).append(("value", node.value))
            if [ast.unparse(t) for t in getattr(node, "targets", [])] == ["_LAZY"]:
                lazy = ast.literal_eval(node.value)
    return Module(name, path, tree, bindings, lazy)


class ImportWalk:
    """The third-party modules that running a script may import: {top-level module: importer}."""

    def __init__(self):
        self.found: dict[str, str] = {}
        self.loaded: set[str] = set()
        self.used: set[tuple] = set()

    def run_script(self, script: Path) -> dict[str, str]:
        self._run_top_level(_parse("__main__", script))
        return self.found

    def load(self, name: str) -> None:
        """Import a module: each package on its path, then the module, runs its top level."""
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            prefix = ".".join(parts[:depth])
            if prefix not in self.loaded and _module(prefix):
                self.loaded.add(prefix)
                self._run_top_level(_module(prefix))

    def _run_top_level(self, module: Module) -> None:
        for node in _top_level(module.tree.body):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):  # defined, not run
                parts = [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]
            elif isinstance(node, ast.ClassDef):  # runs its body; its methods' bodies only when called
                parts = [*node.decorator_list, *node.bases, *node.keywords]
                parts += [
                    n for n in _top_level(node.body) if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                ]
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                parts = [getattr(node, "test", None), getattr(node, "iter", None), *getattr(node, "items", [])]
            else:
                parts = [node]
            for part in parts:
                if part is not None:
                    self._run(module, part, {})

    def _run(self, module: Module, node: ast.AST, scope: dict[str, list[tuple]]) -> None:
        """Run a piece of code of a module: its imports, and every name it uses."""
        skipped = {id(n) for t in ast.walk(node) if _type_checking(t) for b in t.body for n in ast.walk(b)}
        code = [inner for inner in ast.walk(node) if id(inner) not in skipped]
        scope = dict(scope)
        for inner in code:  # imports inside a function bind its local names
            if isinstance(inner, (ast.Import, ast.ImportFrom)):
                self._import(module, inner)
                for local, target in _import_bindings(inner, module.name, module.path.name == "__init__.py").items():
                    scope.setdefault(local, []).append(target)
        for inner in code:
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load):
                for target in scope.get(inner.id) or module.bindings.get(inner.id, []):
                    self._use(module, inner.id, target)
            elif isinstance(inner, ast.Attribute) and isinstance(inner.ctx, ast.Load):
                chain, value = [inner.attr], inner.value
                while isinstance(value, ast.Attribute):
                    chain.insert(0, value.attr)
                    value = value.value
                if isinstance(value, ast.Name):
                    for target in scope.get(value.id) or module.bindings.get(value.id, []):
                        if target[0] == "module":
                            self._use_dotted(target[1], chain)

    def _import(self, module: Module, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = _from_base(node, module.name, module.path.name == "__init__.py")
            names = [base]
            for alias in node.names:
                names.append(f"{base}.{alias.name}")
                if _module(base) and alias.name in _module(base).lazy:  # PEP 562: loads on import
                    names.append(f"{base}.{_module(base).lazy[alias.name]}")
        for name in names:
            top = name.split(".")[0]
            if top == "candle_lib":
                self.load(name)
            elif top not in sys.stdlib_module_names and top != "__future__":
                self.found.setdefault(
                    top, str(module.path.relative_to(REPO)) if module.path.is_relative_to(REPO) else "the script"
                )

    def _use(self, module: Module, name: str, target: tuple) -> None:
        kind = target[0]
        if kind == "from":
            self._use_dotted(target[1], [target[2]])
        elif kind in ("def", "value") and (module.name, name, id(target[1])) not in self.used:
            self.used.add((module.name, name, id(target[1])))
            self._run(module, target[1], {})

    def _use_dotted(self, base: str, chain: list[str]) -> None:
        """Use base.chain[0].chain[1]...: through submodules down to a name of a candle_lib module."""
        for attr in chain:
            owner = _module(base)
            if owner is None:
                return
            if _module(f"{base}.{attr}"):
                base = f"{base}.{attr}"
                self.load(base)
                continue
            if attr in owner.lazy:
                base = f"{base}.{owner.lazy[attr]}"
                self.load(base)
                owner = _module(base)
            for target in owner.bindings.get(attr, []):
                self._use(owner, attr, target)
            return


def third_party_imports(script: Path) -> dict[str, str]:
    """{top-level third-party module: a file that imports it} that running the script may import."""
    return ImportWalk().run_script(script)


def imports_candle_lib(script: Path) -> bool:
    bindings = _parse("__main__", script).bindings.values()
    return any(t[0] in ("from", "module") and t[1].split(".")[0] == "candle_lib" for ts in bindings for t in ts)


# --- what an env provides -----------------------------------------------------------------------


def env_packages(env: Path) -> dict[str, str | None]:
    """{normalised distribution name: pinned version or None} of a conda env file, conda and pip
    packages alike; `-e <dir>` provides the project in <dir> (candle_lib here)."""
    packages = {}

    def add(requirement: str, *, pip: bool) -> None:
        requirement = requirement.strip()
        if requirement.startswith("-e "):
            project = (env.parent / requirement[3:].strip()).resolve()
            name = re.search(r'^name\s*=\s*"([^"]+)"', (project / "pyproject.toml").read_text(), re.M).group(1)
            packages[normalise(name)] = None
            return
        if not pip:
            requirement = requirement.split("::")[-1]  # conda: channel::name=version
        match = re.match(r"([A-Za-z0-9._-]+)\s*(?:==?\s*([^,;\s]+))?", requirement)
        packages[normalise(match.group(1))] = match.group(2)

    for dependency in yaml.safe_load(env.read_text())["dependencies"]:
        if isinstance(dependency, dict):
            for requirement in dependency.get("pip", []):
                add(requirement, pip=True)
        else:
            add(dependency, pip=False)
    return packages


@functools.cache
def _installed() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def distributions(module: str) -> set[str]:
    if module in DISTRIBUTIONS_OF:
        return DISTRIBUTIONS_OF[module]
    installed = _installed().get(module)
    return {normalise(d) for d in installed} if installed else {normalise(module)}


# --- tests --------------------------------------------------------------------------------------


def test_the_parser_finds_every_rule():
    names = {rule.name for rule in RULES}
    # rules in branches (drug response, tox21, bundles, MC dropout), a checkpoint, a loop's rules
    assert {
        "prepare_drug_response",
        "synthesize_compounds",
        "train_bundle",
        "uq_mc_dropout",
        "propose_round",
        "{stage}_table_page",
        "predict_samples",
        "all",
    } <= names
    assert len(SCRIPT_RULES) == len({rule.name for rule in SCRIPT_RULES}) >= 25


@pytest.mark.parametrize("rule", SCRIPT_RULES, ids=lambda rule: rule.name)
def test_the_rules_env_provides_what_its_script_imports(rule):
    assert rule.conda is not None, f"rule {rule.name} runs a script but names no conda env"
    assert rule.conda.is_file(), f"rule {rule.name}: no env file {rule.conda}"
    packages = env_packages(rule.conda)
    env = rule.conda.relative_to(REPO)
    missing = [
        f"{module} (imported by {importer}; package {' or '.join(sorted(distributions(module)))})"
        for module, importer in sorted(third_party_imports(rule.script).items())
        if not distributions(module) & packages.keys()
    ]
    assert not missing, f"rule {rule.name}: {env} lacks " + ", ".join(missing)
    if imports_candle_lib(rule.script):
        assert "candle-lib" in packages, f"rule {rule.name}: {env} does not install candle_lib (-e ..)"


def test_scripts_are_named_after_their_rules():
    """scripts/<rule>.py; the rules a loop makes ("{stage}_table_page") share the script named
    after what their names have in common (table_page.py)."""
    for rule in SCRIPT_RULES:
        common = re.sub(r"_?\{[^}]*\}_?", "", rule.name)
        assert rule.script == REPO / "scripts" / f"{common}.py", (
            f"rule {rule.name} runs {rule.script.relative_to(REPO)}"
        )
    unused = {p.name for p in (REPO / "scripts").glob("*.py")} - {rule.script.name for rule in SCRIPT_RULES}
    assert not unused, f"scripts no rule runs: {sorted(unused)}"


def test_every_keras_rule_declares_its_gpus_and_no_other_does():
    """A rule whose code reaches Keras or TensorFlow asks for KERAS_GPUS (rules/train.smk), or
    for those of all its workers (job_gpus, rules/common.smk: a trial's or the final training's),
    under both names the executors read (gpus: Snakemake, PBS, allocation mode; gpu: SLURM)."""
    keras_gpus = {"KERAS_GPUS", "job_gpus(trial_workers)", "job_gpus(final_workers)"}
    for rule in SCRIPT_RULES:
        keras = bool(KERAS & third_party_imports(rule.script).keys())
        gpus = {key: rule.resources.get(key) for key in ("gpus", "gpu")}
        if keras:
            assert gpus["gpus"] == gpus["gpu"] in keras_gpus, f"rule {rule.name} (reaches Keras) declares {gpus}"
        else:
            assert gpus == {"gpus": None, "gpu": None}, f"rule {rule.name} (reaches no Keras) declares {gpus}"


def test_env_pins_are_the_locked_versions():
    lock = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            lock[normalise(name)] = version.strip()
    for env in sorted((REPO / "envs").glob("*.yaml")):
        for name, version in env_packages(env).items():
            if version is not None and name in lock:
                assert version == lock[name], f"{env.name}: {name}=={version}, requirements.lock has {lock[name]}"


def test_the_import_walk_follows_what_runs(tmp_path):
    """Names the script uses, into candle_lib and through a face's PEP 562 names, with the lazy
    imports of the functions it reaches; not functions nobody calls, nor `if TYPE_CHECKING:`."""
    script = tmp_path / "script.py"
    script.write_text(
        "import os\nfrom typing import TYPE_CHECKING\n\n"
        "from candle_lib.search.methods import plan_round\nfrom candle_lib.uq import mc_dropout_predictions\n\n"
        "if TYPE_CHECKING:\n    import not_at_runtime\n\n"
        "def main():\n    import called_lazily\n\n    return plan_round()\n\n"
        "def never_called():\n    import not_called\n\n    return mc_dropout_predictions()\n\n"
        "main()\n"
    )
    found = third_party_imports(script)
    assert found["called_lazily"] == "the script" and found["optuna"] == "candle_lib/search/bayesian.py"
    assert not {"os", "not_at_runtime", "not_called", "keras", "tensorflow"} & found.keys()
    script.write_text(script.read_text().replace("main()\n", "main()\nnever_called()\n"))
    assert {"not_called", "keras"} <= third_party_imports(script).keys()  # through candle_lib.uq's _LAZY
