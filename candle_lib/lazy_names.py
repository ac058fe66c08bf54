"""Names of a package face that import their module on first use (PEP 562), so that importing a
package (which every import of one of its modules does) stays light: a face lists in ``_LAZY``
the names whose modules pull scikit-learn, SciPy, Keras or Optuna, and takes its module-level
``__getattr__`` and ``__dir__`` from :func:`lazy_names`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from importlib import import_module


def lazy_names(package: str, lazy: Mapping[str, str], exported: Iterable[str]) -> tuple[Callable, Callable]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: a name of ``lazy`` (name -> module of
    the package) is imported from its module on first use and kept on the package; ``dir()``
    shows the ``exported`` names (the face's ``__all__``) before their first use too."""
    exported = tuple(exported)

    def __getattr__(name: str):
        if name not in lazy:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{lazy[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exported})

    return __getattr__, __dir__
