"""Keras imported without two optional packages that a trial never uses.

Keras 3 (which TensorFlow imports) imports matplotlib for ``keras.visualization`` and
scikit-learn for the estimators of ``keras.wrappers`` whenever they are installed, and does
without them when they are not. A trial uses neither; in a trial process that has not imported
them yet they cost 25 MiB (matplotlib) and 58 MiB (scikit-learn) resident, measured on
TensorFlow 2.21 / Keras 3.15 (issue 18). :func:`import_keras` imports Keras with the packages
not yet imported marked unavailable, then removes the marks: a later ``import matplotlib`` works
as usual; only Keras' image gallery plot and scikit-learn wrappers stay without them in this
process.
"""

from __future__ import annotations

import sys

OPTIONAL = ("matplotlib", "sklearn")


def import_keras():
    """The ``keras`` module, imported (with TensorFlow) without the OPTIONAL packages that this
    process has not imported yet."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    marked = [name for name in OPTIONAL if name not in sys.modules]
    for name in marked:
        sys.modules[name] = None  # an import of it raises ImportError meanwhile
    try:
        import keras
    finally:
        for name in marked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    return keras
