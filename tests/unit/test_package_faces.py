"""Each package's face (its ``__init__``): importing it never imports TensorFlow or Keras (nor
Optuna, for the search), and every name of its ``__all__`` resolves, the lazy ones included.

Each package is imported in a fresh interpreter, so that nothing an earlier test imported hides
an import the package itself makes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# package -> heavy modules that importing it must not import
PACKAGES = {
    "data": ("tensorflow", "keras"),
    "params": ("tensorflow", "keras"),
    "trial": ("tensorflow", "keras"),
    "models": ("tensorflow", "keras"),
    "hpc": ("tensorflow", "keras"),
    "search": ("tensorflow", "keras", "optuna"),
    "cv": ("tensorflow", "keras"),
    "uq": ("tensorflow", "keras"),
    "tda": ("tensorflow", "keras"),
    "deploy": ("tensorflow", "keras"),
    "report": ("tensorflow", "keras"),
}

PROBE = """
import importlib, json, pkgutil, sys
name, heavy = sys.argv[1], sys.argv[2].split(",")
package = importlib.import_module("candle_lib." + name)
imported = [m for m in heavy if m in sys.modules]
exported = list(getattr(package, "__all__", []))
unresolved = [n for n in exported if not hasattr(package, n)]
after = [m for m in heavy if m in sys.modules]
submodules = [m.name for m in pkgutil.iter_modules(getattr(package, "__path__", []))]
print(json.dumps({"imported": imported, "after_resolving": after, "exported": exported, "unresolved": unresolved,
                  "shadowing": sorted(set(exported) & set(submodules)), "in_dir": sorted(set(exported) - set(dir(package)))}))
"""


def probe(package: str, heavy) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, package, ",".join(heavy)], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_face_imports_no_tensorflow_and_every_exported_name_resolves(package):
    found = probe(package, PACKAGES[package])
    assert found["imported"] == [], f"import candle_lib.{package} imports {found['imported']}"
    if package != "cv":  # cv is one module, not a package with a face
        assert found["exported"], f"candle_lib.{package} has no __all__"
    assert found["unresolved"] == [], f"candle_lib.{package}.__all__ names what it does not have"
    # a name equal to a submodule's would hide that module (``from candle_lib.data import normalize``)
    assert found["shadowing"] == []
    assert found["in_dir"] == []
    if package != "models":  # only the models' losses are Keras objects; the rest imports it when it runs
        assert found["after_resolving"] == [], f"a name of candle_lib.{package} imports {found['after_resolving']}"


def test_lazy_names_are_the_modules_own_objects():
    """A lazily exported name is the object of its module, not a copy or a wrapper."""
    from candle_lib import trial
    from candle_lib.trial.run import run_trial
    from candle_lib.trial.spec import trial_id

    assert trial.run_trial is run_trial
    assert trial.trial_id is trial_id
    with pytest.raises(AttributeError):
        trial.no_such_name  # noqa: B018
