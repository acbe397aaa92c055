"""The scikit-learn baseline on disk without pickle: skops, loaded with an allow-list of types.

A joblib/pickle file runs whatever code it names when loaded, so ``uwac evaluate --baseline FILE`` on a crafted
file used to run a shell command (issue 10, defect 10). skops stores the trees as data; loading refuses any type
outside :data:`TRUSTED_TYPES` (the gradient-boosted trees' predictor, beyond skops' own safe defaults).
"""

from __future__ import annotations

from pathlib import Path

FILE_NAME = "baseline.skops"
# Types a HistGradientBoostingClassifier's file holds beyond what skops trusts by default (measured with
# ``skops.io.get_untrusted_types`` on a fitted model). Anything else in a file is refused.
TRUSTED_TYPES = ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",)


def save_baseline(path: str | Path, *, model, features: list[str], classes: list[str]) -> Path:
    """Write the fitted trees with their feature names and class order to ``path`` (a ``.skops`` file)."""
    import skops.io as sio

    path = Path(path)
    sio.dump({"model": model, "features": list(features), "classes": list(classes)}, path)
    return path


def load_baseline(path: str | Path) -> dict:
    """``{"model", "features", "classes"}`` from a file :func:`save_baseline` wrote. ``ValueError`` for a pickle
    (``.joblib``/``.pkl``), a file holding types outside the allow-list, or one skops cannot read; the message
    says what to do."""
    import skops.io as sio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"baseline {path} not found; `uwac train` writes RUN/{FILE_NAME}")
    if path.suffix in (".joblib", ".pkl", ".pickle"):
        raise ValueError(f"baseline {path} is a pickle, which runs code when loaded; it is not opened. Retrain "
                         f"with `uwac train` (it writes RUN/{FILE_NAME}) and pass that file")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # a zip that is not a skops file, a truncated file
        raise ValueError(f"baseline {path} is not a readable skops file ({exc}); pass RUN/{FILE_NAME} as "
                         "`uwac train` wrote it") from exc
    unexpected = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if unexpected:
        raise ValueError(f"baseline {path} holds types a uwac baseline never has ({', '.join(unexpected)}); it is "
                         "refused. Use the file `uwac train` wrote")
    saved = sio.load(path, trusted=list(untrusted))
    if not isinstance(saved, dict) or not {"model", "features", "classes"} <= set(saved):
        raise ValueError(f"baseline {path} lacks its model, features or classes; pass RUN/{FILE_NAME}")
    return saved
