"""Deprecated: the old home of training, saving and loading; use :mod:`auralisation.io` and
:mod:`auralisation.training`.

``auralisation.train`` held the saved-model format, data preparation, fitting, a whole run and the ``train``
command in one module, so that loading a model imported scikit-learn. They now live apart:

* :mod:`auralisation.io`: :class:`~auralisation.io.TrainedModel`, :func:`~auralisation.io.save_model`,
  :func:`~auralisation.io.load_model`, the file names (``MODEL_FILE``...), ``check_compatible``;
* :mod:`auralisation.training`: ``TrainSettings``, ``ARCH_CONFIGS``, ``prepare_data``, ``fit``,
  ``train_and_evaluate``, ``make_strategy``...;
* :mod:`auralisation.cli.train`: the ``auralisation train`` command; :mod:`auralisation.cli.options`:
  ``add_model_arguments`` and ``model_from_arguments``.

Every old name still resolves here, lazily (importing this module imports nothing heavy), with a
:class:`DeprecationWarning` that says where it lives now; this module goes in the next release.
"""

from __future__ import annotations

from ._compat import deprecated_names

__all__: list[str] = []

_IO = ("CLASSES_FILE", "CONFIG_FILE", "MODEL_FILE", "MODEL_FILES", "TrainedModel", "check_compatible", "load_model",
       "save_model")
_TRAINING = ("ARCH_CONFIGS", "BestCheckpoint", "CHECKPOINT_FILE", "DEFAULT_SCALING", "HISTORY_FILE", "HistoryWriter",
             "METRICS_FILE", "PreparedData", "SPLITS_FILE", "SPLIT_NAMES", "STRATEGIES", "TrainResult",
             "TrainSettings", "build_model", "compile_model", "evaluate_trained", "fit", "make_strategy",
             "prepare_data", "train_and_evaluate")
_CLI = ("add_train_arguments", "run_train")
_OPTIONS = ("add_model_arguments", "model_from_arguments")

__getattr__ = deprecated_names(
    __name__,
    {
        **{name: f"auralisation.io:{name}" for name in _IO},
        **{name: f"auralisation.training:{name}" for name in _TRAINING},
        **{name: f"auralisation.cli.train:{name}" for name in _CLI},
        **{name: f"auralisation.cli.options:{name}" for name in _OPTIONS},
    },
)
