"""Data: every source read into one form, normalized, filtered, labelled, split and prepared.

- :mod:`.sources`: each ``data.source`` read into one :class:`CountData` (the entry point);
- :mod:`.ingest`: read-count tables, gene annotations and sample sheets, validated and aligned;
- :mod:`.candle_files`, :mod:`.gtf`: CANDLE's benchmark file layouts, GENCODE/Ensembl GTFs;
- :mod:`.drug_tables`: drug-response feature tables and responses, joined by index;
- :mod:`.synthetic`, :mod:`.synthetic_tox21`: deterministic synthetic cohorts and compound sets;
- :mod:`.normalize`, :mod:`.block_normalize`: FPKM-UQ, TPM, CPM, transforms; feature blocks;
- :mod:`.features`, :mod:`.labels`: feature filters; label codes and encodings;
- :mod:`.split_methods`, :mod:`.split_table`: train/val/test, folds, subsamples, bootstrap,
  leave-one-group-out, all in one split table;
- :mod:`.prepared`, :mod:`.drug_prepared`: the prepared dataset a trial memory-maps;
- :mod:`.row_reader`: a trial's rows of the prepared matrix, read without keeping it mapped;
- :mod:`.config_checks`: the checks of the ``data`` section a JSON schema cannot express.

No TensorFlow here. The names of the modules that import scikit-learn (the splits and the
drug-response dataset that splits) load on first use, so that importing any of this package's
light modules stays light.
"""

from candle_lib.data.block_normalize import normalize_block
from candle_lib.data.candle_files import CandleData, read_candle_p1b, read_candle_xy
from candle_lib.data.drug_tables import (
    FeatureTable,
    join_indices,
    read_cell_features,
    read_drug_features,
    read_responses,
)
from candle_lib.data.features import read_gene_list, restrict_to_genes, select_features
from candle_lib.data.gtf import read_gtf_genes
from candle_lib.data.ingest import (
    CountData,
    align_counts,
    ingest_matrix,
    load_count_data,
    read_gene_annotation,
    read_sample_sheet,
    save_count_data,
)
from candle_lib.data.labels import codebook, fit_classes, one_hot
from candle_lib.data.normalize import cpm, fpkm, fpkm_uq, normalize_to_float32, tpm, transform
from candle_lib.data.prepared import PreparedDataset, load_prepared, prepare_matrix, write_prepared
from candle_lib.data.row_reader import read_npy_rows
from candle_lib.data.sources import read_source
from candle_lib.data.synthetic import synthetic_drug_response, synthetic_nt3_cohort, synthetic_tc1_cohort
from candle_lib.lazy_names import lazy_names as _lazy_names

_LAZY = {  # name -> module that imports scikit-learn
    "assign_splits": "split_methods",
    "bootstrap_resamples": "split_methods",
    "fractional_subsamples": "split_methods",
    "leave_one_group_out": "split_methods",
    "build_split_table": "split_table",
    "DrugPrepared": "drug_prepared",
    "is_drug_prepared": "drug_prepared",
    "load_drug_prepared": "drug_prepared",
    "prepare_drug_response": "drug_prepared",
}

__all__ = [
    # sources and readers
    "read_source",
    "CountData",
    "align_counts",
    "ingest_matrix",
    "read_gene_annotation",
    "read_sample_sheet",
    "save_count_data",
    "load_count_data",
    "CandleData",
    "read_candle_xy",
    "read_candle_p1b",
    "read_gtf_genes",
    "FeatureTable",
    "read_cell_features",
    "read_drug_features",
    "read_responses",
    "join_indices",
    # synthetic data
    "synthetic_nt3_cohort",
    "synthetic_tc1_cohort",
    "synthetic_drug_response",
    # normalization, features, labels
    "fpkm_uq",
    "fpkm",
    "tpm",
    "cpm",
    "transform",
    "normalize_to_float32",
    "normalize_block",
    "select_features",
    "read_gene_list",
    "restrict_to_genes",
    "fit_classes",
    "one_hot",
    "codebook",
    # splits
    "assign_splits",
    "fractional_subsamples",
    "bootstrap_resamples",
    "leave_one_group_out",
    "build_split_table",
    # prepared datasets
    "PreparedDataset",
    "prepare_matrix",
    "write_prepared",
    "load_prepared",
    "read_npy_rows",
    "DrugPrepared",
    "prepare_drug_response",
    "load_drug_prepared",
    "is_drug_prepared",
]


__getattr__, __dir__ = _lazy_names(__name__, _LAZY, __all__)
