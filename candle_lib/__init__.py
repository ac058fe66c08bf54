"""candle_lib: the library behind the Snakemake re-implementation of CANDLE.

Everything here is usable from plain Python with no Snakemake. TensorFlow/Keras is imported
only by the modules that build or train models (``candle_lib.models``, ``candle_lib.trial.run``),
so data preparation and aggregation stay light.
"""

__version__ = "0.1.0"
