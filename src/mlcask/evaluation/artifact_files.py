"""The artifact files of an evaluation, written into one folder that ``evaluate`` uploads at once:
MLflow's plots and tables, the explanations, and the users' ``custom_artifacts`` (whose objects
are stored by type as MLflow stores them: DataFrame -> CSV, array -> .npy, Figure -> PNG, JSON
string or JSON-able object -> .json, a path -> a copy with its extension, else a pickle)."""

from __future__ import annotations

import json
import logging
import pathlib
import pickle
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from mlcask.evaluation.result import json_default
from mlcask.exceptions import MlcaskException

if TYPE_CHECKING:
    from mlcask.evaluation.data import EvalData
    from mlcask.evaluation.explanation import Explanation
    from mlcask.evaluation.model_access import EvalModel
    from mlcask.evaluation.state import Outcome, Plan, Predictions, Scored

__all__ = ["custom_artifacts", "eval_table", "explanations", "metric_artifacts", "write_csv"]

_logger = logging.getLogger(__name__)

EVAL_TABLE_FILE_NAME = "eval_results_table.json"
_EXTENSION_KINDS = {".png": "image", ".jpg": "image", ".jpeg": "image", ".json": "json", ".npy": "numpy",
                    ".csv": "csv", ".parquet": "parquet", ".txt": "text"}


def write_csv(outcome: Outcome, out_dir: pathlib.Path, name: str, frame: Any, prefix: str = "") -> None:
    """Write ``frame`` as ``{prefix}{name}.csv`` and record it as the artifact ``name``."""
    file_name = f"{prefix}{name}.csv"
    frame.to_csv(out_dir / file_name, index=False)
    outcome.files[name] = (file_name, "csv", frame)


# -- MLflow's built-in artifacts ------------------------------------------------------------------------
def metric_artifacts(outcome: Outcome, plan: Plan, scored: Scored, out_dir: pathlib.Path) -> None:
    """``per_class_metrics.csv`` (multiclass) and the classifier plots; a regressor has none (as MLflow)."""
    if plan.model_type != "classifier" or scored.space is None:
        return
    from mlcask.evaluation.plots import write_classifier_plots

    config, prefix = plan.config, plan.prefix
    weights = config.get("sample_weights")
    if not scored.space.is_binary:
        from mlcask.evaluation.classifier_metrics import per_class_metrics

        table = per_class_metrics(scored.y_true, scored.y_pred, scored.space, y_proba=scored.preds.y_proba,
                                  sample_weights=weights,
                                  max_classes_for_roc_pr=config.get("max_classes_for_multiclass_roc_pr", 10))
        write_csv(outcome, out_dir, "per_class_metrics", table, prefix)
    plots = write_classifier_plots(out_dir, y_true=scored.y_true, y_pred=scored.y_pred, y_proba=scored.preds.y_proba,
                                   space=scored.space, config=config, prefix=prefix, sample_weights=weights)
    for name, path in plots.items():
        outcome.files[name] = (pathlib.Path(path).name, "image", None)


def explanations(outcome: Outcome, model: EvalModel, data: EvalData, plan: Plan, scored: Scored | None,
                 out_dir: pathlib.Path, space: Any) -> Explanation | None:
    """The explainer's plots (MLflow's names) and ``feature_importance.csv``; the explanation itself."""
    from mlcask.evaluation.explain import explain

    config = plan.explain_config or {}
    prefix = config.get("metric_prefix") or ""
    y_true = scored.y_true if scored is not None else data.y_true
    found = explain(model.pyfunc, data.X, model_type=plan.model_type, y_true=y_true, space=space, config=config,
                    predict=model.predict)
    if found is None:
        return None
    from mlcask.evaluation.explanation_plots import importance_table, write_explanation_plots

    for name, path in write_explanation_plots(out_dir, found, data.X, prefix=prefix).items():
        outcome.files[name] = (pathlib.Path(path).name, "image", None)
    write_csv(outcome, out_dir, "feature_importance", importance_table(found), prefix)
    return found


def eval_table(outcome: Outcome, values: dict, preds: Predictions, data: EvalData, predictions: str | None,
               prefix: str, run_id: str, other_columns: list[str] = ()) -> None:
    """``eval_results_table.json``, exactly when MLflow logs it: some metric gave per-row scores or
    justifications. Logged at once with ``log_table`` (it is a table the UI and ``load_table`` read)."""
    if not any(v.scores is not None or v.justifications is not None for v in values.values()):
        return
    import pandas as pd

    from mlcask.evaluation.metric import eval_table_columns
    from mlcask.tracking.fluent_artifacts import log_table

    y_pred = preds.y_pred.array if isinstance(preds.y_pred, pd.Series) else preds.y_pred
    table = data.X.copy()
    if data.has_targets:
        table[data.targets_name or "target"] = data.y_true
        table[data.predictions_name or predictions or "outputs"] = y_pred
    else:
        table["outputs"] = y_pred
    for column in other_columns:  # the model's other outputs some extra metric read (default evaluator)
        table[column] = preds.other[column].array
    table = table.assign(**eval_table_columns(values, prefix=prefix))
    file_name = f"{prefix}{EVAL_TABLE_FILE_NAME}"
    log_table(table, artifact_file=file_name, run_id=run_id)
    outcome.files["eval_results_table"] = (file_name, "json", None)
    outcome.uploaded.add("eval_results_table")


# -- custom artifacts (MLflow's _evaluate_custom_artifacts / _log_custom_metric_artifact) -------------------
def _infer_kind(name: str, raw: Any, header: str) -> tuple[bool, str, str]:
    """(from a path?, kind, extension) of a custom artifact object, as MLflow infers them."""
    import numpy as np
    import pandas as pd

    if isinstance(raw, str):
        if pathlib.Path(raw).exists():
            raw = pathlib.Path(raw)
        else:
            try:
                json.loads(raw)
                return False, "json", ".json"
            except json.JSONDecodeError:
                raise MlcaskException(f"{header} with string representation '{raw}' that is neither a valid path "
                                      "to a file nor a JSON string.") from None
    if isinstance(raw, pathlib.Path):
        if not raw.exists():
            raise MlcaskException(f"{header} with path '{raw}' does not exist.")
        if not raw.is_file():
            raise MlcaskException(f"{header} with path '{raw}' is not a file.")
        if raw.suffix not in _EXTENSION_KINDS:
            raise MlcaskException(f"{header} with path '{raw}' does not match any of the supported file extensions: "
                                  f"{', '.join(_EXTENSION_KINDS)}.")
        return True, _EXTENSION_KINDS[raw.suffix], raw.suffix
    if type(raw) is pd.DataFrame:
        return False, "csv", ".csv"
    if type(raw) is np.ndarray:
        return False, "numpy", ".npy"
    if _is_figure(raw):
        return False, "image", ".png"
    try:
        json.dumps(raw, default=json_default)
        return False, "json", ".json"
    except TypeError:
        return False, "pickle", ".pickle"


def _is_figure(raw: Any) -> bool:
    import sys

    figure = sys.modules.get("matplotlib.figure")
    return figure is not None and type(raw) is figure.Figure


def _write_custom(path: pathlib.Path, kind: str, from_path: bool, raw: Any, header: str, name: str) -> Any:
    import numpy as np

    if from_path:
        shutil.copy2(raw, path)
        return None
    if kind == "json":
        with open(path, "w") as f:
            f.write(raw) if isinstance(raw, str) else json.dump(raw, f, default=json_default)
        return None
    if kind == "csv":
        raw.to_csv(path, index=False)
        return raw
    if kind == "numpy":
        np.save(path, raw, allow_pickle=False)
        return raw
    if kind == "image":
        raw.savefig(path)
        return None
    try:
        with open(path, "wb") as f:
            pickle.dump(raw, f)
    except (pickle.PickleError, TypeError, AttributeError) as exc:
        raise MlcaskException(
            f"{header} produced an unsupported artifact '{name}' with type '{type(raw)}' that cannot be pickled. "
            "Supported object types for artifacts are: a path to a file, a JSON string, a pandas DataFrame (.csv), "
            "a numpy array (.npy), a matplotlib Figure (.png); other objects are pickled.") from exc
    _logger.warning("%s produced an artifact '%s' with type '%s' that is logged as a pickle artifact.",
                    header, name, type(raw))
    return raw


def _call_custom(function: Any, index: int, eval_df: Any, values: dict, folder: str) -> dict | None:
    name = getattr(function, "__name__", repr(function))
    header = f"Custom artifact function '{name}'  at index {index} in the `custom_artifacts` parameter"
    produced = function(eval_df.copy(), dict(values), folder)
    if produced is None:
        _logger.warning("%s returned None.", header)
        return None
    if not isinstance(produced, dict) or not all(isinstance(k, str) for k in produced):
        _logger.warning("%s did not return artifacts as a dictionary of string artifact names with their "
                        "corresponding objects.", header)
        return None
    return produced


def custom_artifacts(functions: list, y_pred: Any, y_true: Any, values: dict,
                     out_dir: pathlib.Path) -> dict[str, tuple[str, str, Any]]:
    """Call each ``custom_artifacts`` function (``fn(eval_df, builtin_metrics, artifacts_dir)``) and
    write what it returns into ``out_dir``: artifact name -> (file name, kind, content)."""
    import copy

    import pandas as pd

    eval_df = pd.DataFrame({"prediction": copy.deepcopy(y_pred)})
    if y_true is not None:
        eval_df["target"] = y_true
    files: dict[str, tuple[str, str, Any]] = {}
    for index, function in enumerate(functions):
        name = getattr(function, "__name__", repr(function))
        header = f"Custom artifact function '{name}' at index {index} in the `custom_artifacts` parameter"
        with tempfile.TemporaryDirectory() as folder:
            produced = _call_custom(function, index, eval_df, copy.deepcopy(values), folder) or {}
            for artifact_name, raw in produced.items():
                from_path, kind, ext = _infer_kind(artifact_name, raw, f"{header} produced an artifact "
                                                                        f"'{artifact_name}'")
                path = out_dir / f"{artifact_name}{ext}"
                if path.exists():
                    raise MlcaskException(f"{header} produced an artifact '{artifact_name}' that cannot be logged "
                                          "because there already exists an artifact with the same name.")
                content = _write_custom(path, kind, from_path, pathlib.Path(raw) if from_path else raw, header,
                                        artifact_name)
                files[artifact_name] = (path.name, kind, content)
    return files
