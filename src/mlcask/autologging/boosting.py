"""What the XGBoost and LightGBM autolog integrations share.

- :func:`logged_fit` and :func:`logged_train`: the run handling of a patched scikit-learn-API
  ``fit`` and of the training function it calls (``xgboost.train``, ``lightgbm.train``): the
  ``fit`` logs into its run through the training call, which adds the metrics callback;
- :class:`LoggingErrors`: logging steps that fail are skipped and reported as one
  warning per training call, after training, so a store problem never stops training;
- :class:`MetricBatcher`: per-iteration eval metrics gathered by a training callback and
  written with ``log_batch`` in chunks (at the end, or when 1,000 are pending, or every
  few seconds of a long training), never one store call per iteration;
- :func:`early_stopping_metrics`: ``stopped_iteration``, ``best_iteration`` and the best
  iteration's eval metrics again, one step after the last one, as MLflow logs them;
- :func:`log_feature_importance`: ``feature_importance_<type>.json`` and a bar chart
  ``feature_importance_<type>.png`` drawn with Pillow (matplotlib's import alone would cost
  more than the whole autolog overhead budget); without Pillow only the JSON is written;
- helpers for params (a training function's arguments, defaults included), input
  examples and datasets.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlcask.autologging.config import get_config
from mlcask.autologging.patching import inside_patched_call, warn_once
from mlcask.data.dataset_source_registry import resolve as resolve_source
from mlcask.data.numpy_dataset import NumpyDataset
from mlcask.tracking.validation import MAX_METRICS_PER_BATCH

_logger = logging.getLogger("mlcask.autolog")

INPUT_EXAMPLE_ROWS = 5  # rows kept as input example and used to infer the signature, as in MLflow
_MAX_PARAMS_PER_BATCH = 100
_MAX_PARAM_VALUE_LENGTH = 6000
_FLUSH_SECONDS = 5.0
_MAX_DENSE_ELEMENTS = 20_000_000  # sparse training data larger than this is not densified for its dataset
_DATASET_HEAD_ROWS = 10_000


# -- errors ------------------------------------------------------------------------------------
class LoggingErrors:
    """Collects the logging steps of one training call that failed; :meth:`report` warns once."""

    def __init__(self, integration: str) -> None:
        self.integration = integration
        self.errors: list[tuple[str, BaseException]] = []

    @contextlib.contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Run a logging step; an exception is recorded and the step skipped."""
        try:
            yield
        except Exception as exc:
            self.add(what, exc)

    def add(self, what: str, exc: BaseException) -> None:
        _logger.debug("%s autologging: %s failed", self.integration, what, exc_info=exc)
        self.errors.append((what, exc))

    def report(self) -> None:
        if not self.errors:
            return
        details = "; ".join(f"{what}: {type(exc).__name__}: {exc}" for what, exc in self.errors)
        self.errors = []
        warn_once(self.integration, f"logging failed and was skipped ({details})")


# -- training calls ------------------------------------------------------------------------------
_sessions = threading.local()


@dataclass
class FitSession:
    """A patched scikit-learn-API ``fit`` on this thread, seen by the training call inside it."""

    errors: LoggingErrors | None  # None: this fit is not logged (exclusive, or a step of a logged sklearn fit)
    params: dict[str, Any] = field(default_factory=dict)
    trained: bool = False


def current_fit(integration: str) -> FitSession | None:
    return getattr(_sessions, integration, None)


def skip_logging(integration: str, config: dict[str, Any]) -> bool:
    """Whether this training call is not logged: inside an autologged scikit-learn fit (a
    Pipeline step: scikit-learn autologging logs it, as in MLflow), or ``exclusive`` with a
    run the user started."""
    if integration != "sklearn" and inside_patched_call("sklearn"):
        return True
    if config.get("exclusive"):
        from mlcask.tracking import fluent

        return fluent.active_run() is not None
    return False


def logged_fit(integration: str, original: Callable[..., Any], estimator: Any, args: tuple[Any, ...],
               kwargs: dict[str, Any], log_model: Callable[[Any, Any, dict[str, Any], FitSession], None]) -> Any:
    """Run a patched ``fit``: in the autolog run, with a :class:`FitSession` the training call
    inside logs params, metrics and artifacts into; then ``log_model(estimator, input_example,
    config, session)`` when ``log_models``."""
    from mlcask.autologging.session import autolog_run

    config = get_config(integration) or {}
    previous = current_fit(integration)
    if skip_logging(integration, config):
        setattr(_sessions, integration, FitSession(None))
        try:
            return original(estimator, *args, **kwargs)
        finally:
            setattr(_sessions, integration, previous)
    errors = LoggingErrors(integration)
    session = FitSession(errors)
    example = None
    if config.get("log_models"):  # taken before training, as MLflow does
        example = input_example(integration, config, lambda: args[0] if args else kwargs.get("X"))
    setattr(_sessions, integration, session)
    try:
        with autolog_run(integration):
            result = original(estimator, *args, **kwargs)
            if config.get("log_models"):
                with errors.guard("model"):
                    log_model(estimator, example, config, session)
        return result
    finally:
        setattr(_sessions, integration, previous)
        errors.report()


TrainAndLog = Callable[..., Any]


def logged_train(integration: str, original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                 train_and_log: TrainAndLog, *, from_sklearn: bool) -> Any:
    """Run a patched training function (``xgboost.train``, ``lightgbm.train``, or the same
    function as the scikit-learn API calls it, ``from_sklearn``).

    ``train_and_log(original, args, kwargs, config, errors, session, log_model)`` trains and
    logs. Inside a patched ``fit`` it logs into the fit's run and leaves the model to the
    ``fit`` (the estimator is logged, not the Booster); called directly it logs into the
    autolog run, with the Booster when ``log_models`` (never for ``from_sklearn``, as MLflow).
    """
    from mlcask.autologging.session import autolog_run

    config = get_config(integration) or {}
    if from_sklearn:
        session = current_fit(integration)
        if session is not None:
            if session.errors is None or session.trained:
                return original(*args, **kwargs)
            session.trained = True
            return train_and_log(original, args, kwargs, config, session.errors, session, False)
    if skip_logging(integration, config):
        return original(*args, **kwargs)
    errors = LoggingErrors(integration)
    try:
        with autolog_run(integration):
            return train_and_log(original, args, kwargs, config, errors, None,
                                 bool(config.get("log_models")) and not from_sklearn)
    finally:
        errors.report()


def train_logging_context() -> tuple[Any, str, Any]:
    """``(client, run_id, artifact repository)`` of the active run."""
    from mlcask.tracking import fluent
    from mlcask.tracking.context import current_client

    run = fluent.active_run()
    client = current_client()
    return client, run.info.run_id, client.artifact_repository(run.info.run_id)


def initialize_model(log_model: bool, errors: LoggingErrors) -> str | None:
    """The id of a new PENDING logged model named ``model`` when ``log_model`` (None otherwise, or
    if it cannot be created): created before training, as MLflow does, so that every iteration's
    metrics are logged for it and the model is then logged into it (``log_model(model_id=...)``)."""
    if not log_model:
        return None
    with errors.guard("model"):
        from mlcask.tracking.fluent_logged_models import initialize_logged_model

        return initialize_logged_model("model").model_id
    return None


# -- metrics -----------------------------------------------------------------------------------
def metric_key(name: str) -> str:
    """A metric name MLflow accepts: XGBoost's ``ndcg@3`` becomes ``ndcg_at_3`` (MLflow's rule)."""
    return name.replace("@", "_at_")


class MetricBatcher:
    """Eval metrics recorded by a training callback, written with ``log_batch`` in chunks.

    ``record`` never raises (it runs inside the library's training loop): a store error is
    kept in ``errors`` and later metrics are dropped.
    """

    def __init__(self, client: Any, run_id: str, errors: LoggingErrors,
                 flush_seconds: float = _FLUSH_SECONDS, model_id: str | None = None) -> None:
        self.client = client
        self.run_id = run_id
        self.model_id = model_id  # the logged model the values are logged for (its ``metrics``), as MLflow
        self.errors = errors
        self.flush_seconds = flush_seconds
        self.history: list[dict[str, float]] = []  # one {key: value} per recorded iteration
        self._pending: list[Any] = []
        self._last_flush = time.monotonic()
        self._failed = False

    def record(self, values: dict[str, float], step: int) -> None:
        """Record one iteration's eval metrics (called by the training callback)."""
        try:
            self.history.append(values)
            if self._failed:
                return
            self.add(values, step)
            if len(self._pending) >= MAX_METRICS_PER_BATCH or \
                    time.monotonic() - self._last_flush >= self.flush_seconds:
                self.flush()
        except Exception as exc:  # never break the training loop
            self._fail(exc)

    def add(self, values: dict[str, float], step: int, timestamp: int | None = None) -> None:
        from mlcask.entities import Metric

        now = timestamp or int(time.time() * 1000)
        self._pending.extend(Metric(key, float(value), now, int(step), model_id=self.model_id)
                             for key, value in values.items())

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        self._last_flush = time.monotonic()
        if self._failed:
            return
        try:
            self.client.log_batch(self.run_id, metrics=pending)  # the client splits it into requests
        except Exception as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if not self._failed:
            self._failed = True
            self._pending = []
            self.errors.add("metrics", exc)


def early_stopping_metrics(batcher: MetricBatcher, stopped_iteration: int, best_iteration: int,
                           best_index: int) -> None:
    """Queue MLflow's early-stopping metrics: ``stopped_iteration`` and ``best_iteration``
    (step 0), then the eval metrics of ``history[best_index]`` again at step
    ``len(history)``, one past the last iteration's step."""
    batcher.add({"stopped_iteration": stopped_iteration, "best_iteration": best_iteration}, 0)
    if 0 <= best_index < len(batcher.history):
        batcher.add(batcher.history[best_index], len(batcher.history))


# -- params ------------------------------------------------------------------------------------
def _signature(function: Callable[..., Any]) -> inspect.Signature:
    # A patch wrapper's ``original`` calls the library function it holds as ``function``.
    return inspect.signature(getattr(function, "function", function))


def bind_arguments(function: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Every argument of a call of ``function`` by name, defaults included."""
    bound = _signature(function).bind_partial(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def with_callback(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                  callback: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``args``/``kwargs`` with ``callback`` appended to the call's ``callbacks`` (a new list:
    the caller's own list, often an estimator attribute, is left untouched)."""
    names = [p.name for p in _signature(function).parameters.values()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    index = names.index("callbacks") if "callbacks" in names else len(args)
    if index < len(args):
        args = (*args[:index], [*(args[index] or ()), callback], *args[index + 1:])
    else:
        kwargs = {**kwargs, "callbacks": [*(kwargs.get("callbacks") or ()), callback]}
    return args, kwargs


def call_params(arguments: dict[str, Any], unlogged: Sequence[str]) -> dict[str, Any]:
    """The arguments of a training call to log as params (MLflow logs all but ``unlogged``)."""
    return {k: v for k, v in arguments.items() if k not in unlogged}


def log_params(client: Any, run_id: str, params: dict[str, Any]) -> None:
    """Log params as strings (values cut to the store's 6,000 characters), 100 per batch."""
    from mlcask.entities import Param

    entities = [Param(str(k), str(v)[:_MAX_PARAM_VALUE_LENGTH]) for k, v in params.items()]
    for start in range(0, len(entities), _MAX_PARAMS_PER_BATCH):
        client.log_batch(run_id, params=entities[start:start + _MAX_PARAMS_PER_BATCH])


# -- data --------------------------------------------------------------------------------------
def head_rows(data: Any, rows: int = INPUT_EXAMPLE_ROWS) -> Any:
    """A copy of the first ``rows`` rows of training data (the input example)."""
    import copy
    import os

    if data is None:
        raise ValueError("no training data to take an input example from")
    if isinstance(data, (str, bytes, os.PathLike)):
        raise ValueError("cannot take an input example from data loaded from a file")
    iloc = getattr(data, "iloc", None)
    if iloc is not None:
        return iloc[:rows].copy()
    return copy.deepcopy(data[:rows])


def input_example(integration: str, config: dict[str, Any], data: Callable[[], Any]) -> Any:
    """The first rows of ``data()`` when the model is logged with an example or a signature,
    else None. Data with no rows to take (a file, an iterator) gets a logged warning, as in
    MLflow: the model is then logged without example and signature."""
    if not (config.get("log_input_examples") or config.get("log_model_signatures")):
        return None
    try:
        return head_rows(data())
    except Exception as exc:
        if not config.get("silent"):
            _logger.warning("%s autologging: no input example or signature for the model: %s", integration, exc)
        return None


def dataset_from(data: Any, name: str | None = None, targets: Any = None) -> Any:
    """A dataset for ``log_input`` over a pandas or polars DataFrame, an array or a sparse matrix
    (``targets`` go with arrays only, as MLflow logs them), or None for other data."""
    import numpy as np
    import pandas as pd

    from mlcask.data import from_numpy, from_pandas
    from mlcask.data.dataset import is_polars_dataframe

    if isinstance(data, pd.DataFrame):
        return from_pandas(data, name=name)
    if is_polars_dataframe(data):
        from mlcask.data import from_polars

        return from_polars(data, name=name)
    if hasattr(data, "toarray"):  # scipy sparse (XGBoost gives back any DMatrix's data as CSR)
        rows, columns = data.shape
        if rows * columns > _MAX_DENSE_ELEMENTS:  # no dense copy of big data
            return SparseHeadDataset(data, name)
        data = data.toarray()
    if isinstance(data, np.ndarray):
        return from_numpy(data, name=name, targets=targets)
    _logger.debug("unrecognised dataset type %s: dataset logging skipped", type(data).__name__)
    return None


class SparseHeadDataset(NumpyDataset):
    """A sparse matrix too big to densify for its dataset: its first rows identify it (digest,
    schema), the profile gives its full size."""

    def __init__(self, matrix: Any, name: str | None = None) -> None:
        import numpy as np

        super().__init__(matrix[:_DATASET_HEAD_ROWS].toarray(), resolve_source(None), name=name)
        rows, columns = matrix.shape
        self._full = {"features_shape": [rows, columns], "features_size": rows * columns,
                      "features_nbytes": rows * columns * np.dtype(matrix.dtype).itemsize}

    @property
    def profile(self) -> dict[str, Any]:
        return dict(self._full)


def log_datasets(client: Any, run_id: str, datasets: Sequence[tuple[Any, str]]) -> None:
    """Record ``(dataset, context)`` pairs as the run's inputs, in one store call."""
    from mlcask.data import dataset_input

    inputs = [dataset_input(dataset, context) for dataset, context in datasets if dataset is not None]
    if inputs:
        client.log_inputs(run_id, datasets=inputs)


def model_signature(config: dict[str, Any], example: Any, predict: Callable[[Any], Any],
                    errors: LoggingErrors) -> tuple[Any, Any]:
    """``(input_example, signature)`` for ``log_model`` from the autolog arguments."""
    if example is None:
        return None, None
    # False, not None: saving would otherwise infer a signature from the example (MLflow's rule too).
    signature: Any = False
    if config.get("log_model_signatures", True):
        from mlcask.models.signature import infer_signature

        signature = None

        with errors.guard("model signature"):
            signature = infer_signature(example, predict(head_rows(example)))
    return (example if config.get("log_input_examples") else None), signature


# -- feature importance ------------------------------------------------------------------------
def log_feature_importance(repository: Any, importance_type: str, importance: dict[str, Any],
                           json_indent: int | None = None) -> None:
    """Write ``feature_importance_<type>.json`` and, with Pillow and at least one feature,
    the chart ``feature_importance_<type>.png``."""
    repository.write_bytes(f"feature_importance_{importance_type}.json",
                           json.dumps(importance, indent=json_indent).encode("utf-8"))
    if importance:
        png = importance_png(list(importance), list(importance.values()), importance_type)
        if png is not None:
            repository.write_bytes(f"feature_importance_{importance_type}.png", png)


# -- the chart ---------------------------------------------------------------------------------
# Drawn into a palette image: indices 0-9 are matplotlib's default colour cycle (the bars, so
# the chart looks like MLflow's), 10 black, 11 light grey, and 16-255 a ramp from black to
# white. Text is drawn with ink 16 on white (255) only, so anti-aliased glyph edges blend to
# grey levels of the ramp. A palette PNG encodes several times faster than an RGB one.
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
_BLACK, _GREY, _INK, _WHITE = 10, 11, 16, 255
_TITLE_SIZE, _LABEL_SIZE = 14, 11


def _palette() -> list[int]:
    palette = [0] * 768
    for i, color in enumerate(_COLORS):
        palette[3 * i:3 * i + 3] = [int(color[k:k + 2], 16) for k in (1, 3, 5)]
    palette[3 * _GREY:3 * _GREY + 3] = [204, 204, 204]
    for i in range(_INK, 256):
        level = round((i - _INK) * 255 / (255 - _INK))
        palette[3 * i:3 * i + 3] = [level, level, level]
    return palette


class _Text:
    """Text in one font size, drawn from caches of rendered glyphs and labels.

    Rendering text with FreeType costs about half a millisecond per label; each glyph is
    rendered once per process here, and each label composed once from its glyphs (no
    kerning: the default font's labels look the same without it), then pasted.
    """

    _fonts: dict[int, Any] = {}
    _glyphs: dict[tuple[int, str], tuple[Any, int, int, float]] = {}
    _labels: dict[tuple[int, str], tuple[Any, int, int, float]] = {}
    _MAX_LABELS = 10_000

    def __init__(self, size: int) -> None:
        from PIL import ImageFont

        self.size = size
        font = self._fonts.get(size)
        if font is None:
            try:
                font = ImageFont.load_default(size=size)
            except TypeError:  # Pillow < 10.1: the small bitmap font only
                font = ImageFont.load_default()
            self._fonts[size] = font
        self.font = font
        try:
            ascent, descent = font.getmetrics()
        except AttributeError:
            ascent, descent = size, 0
        self.ascent, self.height = ascent, ascent + descent

    def glyph(self, char: str) -> tuple[Any, int, int, float]:
        key = (self.size, char)
        glyph = self._glyphs.get(key)
        if glyph is None:
            from PIL import Image, ImageDraw

            left, top, right, bottom = (int(v) for v in self.font.getbbox(char))
            mask = None
            if right > left and bottom > top:
                mask = Image.new("L", (right - left, bottom - top), 0)
                ImageDraw.Draw(mask).text((-left, -top), char, fill=255, font=self.font)
            glyph = self._glyphs[key] = (mask, left, top, float(self.font.getlength(char)))
        return glyph

    def label(self, text: str) -> tuple[Any, int, int, float]:
        """``(mask, left, top, width)`` of ``text`` drawn at the origin (mask None if blank)."""
        key = (self.size, text)
        label = self._labels.get(key)
        if label is None:
            from PIL import Image

            placed, x = [], 0.0
            for char in text:
                mask, left, top, advance = self.glyph(char)
                if mask is not None:
                    placed.append((mask, round(x) + left, top))
                x += advance
            composed = None
            x0 = y0 = 0
            if placed:
                x0, y0 = min(p[1] for p in placed), min(p[2] for p in placed)
                x1 = max(p[1] + p[0].width for p in placed)
                y1 = max(p[2] + p[0].height for p in placed)
                composed = Image.new("L", (x1 - x0, y1 - y0), 0)
                for mask, left, top in placed:
                    composed.paste(255, (left - x0, top - y0, left - x0 + mask.width, top - y0 + mask.height), mask)
            if len(self._labels) >= self._MAX_LABELS:
                self._labels.clear()
            label = self._labels[key] = (composed, x0, y0, x)
        return label

    def width(self, text: str) -> float:
        return self.label(text)[3]

    def draw(self, image: Any, x: float, y: float, text: str, anchor: str = "lt", ink: int = _INK) -> None:
        """Draw ``text`` at ``(x, y)``: anchor ``l``/``m``/``r`` horizontally, ``t``/``m`` vertically."""
        mask, left, top, width = self.label(text)
        if mask is None:
            return
        if anchor[0] != "l":
            x -= width / (2 if anchor[0] == "m" else 1)
        if anchor[1] == "m":
            y -= self.height / 2
        x0, y0 = round(x) + left, round(y) + top
        image.paste(ink, (x0, y0, x0 + mask.width, y0 + mask.height), mask)


def _nice_ticks(low: float, high: float, target: int = 6) -> list[float]:
    span = high - low
    if span <= 0 or not math.isfinite(span):
        return [low]
    raw = span / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = []
    value = math.ceil(low / step - 1e-9) * step
    while value <= high + step * 1e-9:
        ticks.append(0.0 if abs(value) < step * 1e-9 else value)
        value += step
    return ticks


def _tick_label(value: float) -> str:
    text = f"{value:.6g}"
    return text[:-2] if text.endswith(".0") else text


def importance_png(features: Sequence[str], values: Sequence[Any], importance_type: str) -> bytes | None:
    """A horizontal bar chart of feature importance as PNG bytes (None without Pillow).

    Features are sorted by importance, the largest at the top; per-class importances (lists,
    e.g. XGBoost's linear booster) are drawn as one bar per class with a legend, as MLflow's
    chart does. The size follows MLflow's: 640 x 480, 10 px taller per feature beyond 10.
    """
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        _logger.debug("Pillow is not installed: feature_importance_%s.png is not written", importance_type)
        return None
    rows = [[float(v) for v in value] if isinstance(value, (list, tuple)) else [float(value)] for value in values]
    classes = max((len(r) for r in rows), default=1)
    rows = [r + [0.0] * (classes - len(r)) for r in rows]
    order = sorted(range(len(rows)), key=lambda i: sum(abs(v) for v in rows[i]))
    names = [str(features[i]) for i in order]
    rows = [rows[i] for i in order]

    n = len(rows)
    width = 640
    height = 480 + (10 * n if n > 10 else 0) + (10 * classes if classes > 1 else 0)
    image = Image.new("P", (width, height), _WHITE)
    image.putpalette(_palette())
    draw = ImageDraw.Draw(image)
    title_text, text = _Text(_TITLE_SIZE), _Text(_LABEL_SIZE)

    title = f"Feature Importance ({importance_type})"
    label_width = max((text.width(name) for name in names), default=0)
    left = min(int(label_width) + 16, width // 2)
    right, top, bottom = width - 20, title_text.height + 22, height - 48
    title_text.draw(image, width / 2, 8, title, anchor="mt")

    flat = [v for r in rows for v in r] or [0.0]
    low, high = min(0.0, min(flat)), max(0.0, max(flat))
    if high == low:
        high = low + 1.0
    margin = (high - low) * 0.05  # matplotlib's default axis margin
    low, high = (low - margin if low < 0 else low), high + margin

    def x_of(value: float) -> float:
        return left + (value - low) / (high - low) * (right - left)

    slot = (bottom - top) / max(n, 1)
    bar = slot * 0.5 / max(classes - 1, 1)
    offsets = [(c / (classes - 1) - 0.5) / 2 * slot if classes > 1 else 0.0 for c in range(classes)]
    zero = x_of(0.0)
    for i, (name, row) in enumerate(zip(names, rows)):
        center = bottom - (i + 0.5) * slot
        for c, value in enumerate(row):
            y = center + offsets[c]
            x0, x1 = sorted((zero, x_of(value)))
            draw.rectangle([x0, y - bar / 2, max(x1, x0 + 0.5), y + bar / 2], fill=c % len(_COLORS))
        text.draw(image, left - 6, center, name, anchor="rm")
        draw.line([(left - 3, center), (left, center)], fill=_BLACK)
    draw.rectangle([left, top, right, bottom], outline=_BLACK)
    for tick in _nice_ticks(low, high):
        x = x_of(tick)
        draw.line([(x, bottom), (x, bottom + 3)], fill=_BLACK)
        text.draw(image, x, bottom + 5, _tick_label(tick), anchor="mt")
    text.draw(image, (left + right) / 2, bottom + 24, "Importance", anchor="mt")
    if classes > 1:
        labels = [f"Class {c}" for c in range(classes)]
        box = max(text.width(label) for label in labels) + 34
        x0, y0 = right - box - 6, bottom - 16 * classes - 12  # bottom right: the smallest bars
        draw.rectangle([x0, y0, right - 6, y0 + 16 * classes + 6], fill=_WHITE, outline=_GREY)
        for c, label in enumerate(labels):
            y = y0 + 6 + 16 * c
            draw.rectangle([x0 + 6, y + 2, x0 + 22, y + 10], fill=c % len(_COLORS))
            text.draw(image, x0 + 28, y + 6, label, anchor="lm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
