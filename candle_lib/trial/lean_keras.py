"""Keras imported without three optional packages that a trial never uses.

Keras 3 (which TensorFlow imports) imports matplotlib for ``keras.visualization`` and
scikit-learn for the estimators of ``keras.wrappers`` whenever they are installed, and
TensorFlow's legacy ``tf.keras`` training loop imports ``scipy.sparse``; each does without them
when they are not. A trial uses none of them (its scalers and ROC AUC are NumPy); in a trial
process that has not imported them yet they cost 25 MiB (matplotlib), 58 MiB (scikit-learn) and
23 MiB (SciPy) resident, measured on TensorFlow 2.21 / Keras 3.15 (issue 18). :func:`import_keras` imports Keras with the packages
not yet imported marked unavailable, then removes the marks: a later ``import matplotlib`` works
as usual; only Keras' image gallery plot, its scikit-learn wrappers and SciPy sparse inputs to the
legacy tf.keras loop stay without them in this process.
"""

from __future__ import annotations

import sys

OPTIONAL = ("matplotlib", "sklearn", "scipy")


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
