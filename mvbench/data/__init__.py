"""The data layer: the multi-view data model, its HDF5 store, dataset sources and importers, the
experimental conditions (missing views, subsamples) and the preprocessing methods share.

Plugins import the data model from here: ``from mvbench.data import MultiViewDataset``.
"""

from mvbench.data.model import DatasetCard, DataValidationError, LabelsHiddenError, MultiViewDataset, encode_labels

__all__ = ["DataValidationError", "DatasetCard", "LabelsHiddenError", "MultiViewDataset", "encode_labels"]
