"""Name and value checks shared by the tracking store, the registry and the fluent API."""

from __future__ import annotations

import logging
import math
import sys

import numpy as np
import pytest

from mlcask.entities import Dataset
from mlcask.exceptions import INVALID_PARAMETER_VALUE, InvalidArgumentError
from mlcask.tracking import validation as v


@pytest.mark.parametrize("key", ["loss", "val/loss", "a.b", "a-b_c d", "a:b", "épochs", "x" * 250, "1", "a/b/c"])
def test_valid_keys(key):
    v.validate_key("metric", key)


@pytest.mark.parametrize("key, message", [
    ("a!b", "Invalid metric key 'a!b': names may only contain alphanumerics, underscores (_), dashes (-)"),
    ("a\nb", "names may only contain"),
    ("../up", "must not resolve to another name (this one resolves to '../up')"),
    ("/abs", "resolves to '/abs'"),
    ("a//b", "resolves to 'a/b'"),
    ("a/", "resolves to 'a'"),
    ("a/./b", "resolves to 'a/b'"),
    (".", "resolves to '.'"),
    ("", "resolves to '.'"),
    ("x" * 251, "is 251 characters long; the maximum is 250"),
])
def test_invalid_keys(key, message):
    with pytest.raises(InvalidArgumentError, match="Invalid metric key") as info:
        v.validate_key("metric", key)
    assert message in str(info.value)
    assert info.value.error_code == INVALID_PARAMETER_VALUE


def test_key_must_be_a_string():
    with pytest.raises(InvalidArgumentError, match="A param key must be provided, got None"):
        v.validate_key("param", None)
    with pytest.raises(InvalidArgumentError, match="A tag key must be a string, got int 5"):
        v.validate_key("tag", 5)


def test_key_problem_cache_does_not_hide_errors():
    for _ in range(3):
        with pytest.raises(InvalidArgumentError, match="names may only contain"):
            v.validate_metric_key("bad*key")


@pytest.mark.skipif(sys.platform == "win32", reason="colons are refused on Windows, as in MLflow")
def test_colon_allowed_off_windows():
    v.validate_key("metric", "epoch:1")


@pytest.mark.parametrize("value", [1, 1.5, -3, np.float32(0.5), np.float64(2.0), np.int64(7), math.inf, -math.inf,
                                   math.nan])
def test_metric_values_accepted(value):
    v.validate_metric("m", value, 0, 0)


@pytest.mark.parametrize("value, got", [
    ("abc", "got str 'abc'"),
    (True, "got bool True"),
    (None, "got None"),
    (1 + 2j, "got complex (1+2j)"),
    ([1.0], "got list [1.0]"),
    (np.bool_(True), "got bool"),
])
def test_metric_values_refused(value, got):
    with pytest.raises(InvalidArgumentError, match="Metric 'acc' value must be a number") as info:
        v.validate_metric("acc", value, 0, 0)
    assert got in str(info.value)


def test_metric_timestamp_and_step():
    v.validate_metric("m", 1.0, 1.7e12, 3.0)  # floats are accepted, as MLflow does
    with pytest.raises(InvalidArgumentError, match="Metric 'm' timestamp must be a non-negative number of "
                                                   "milliseconds since the epoch, got -1"):
        v.validate_metric("m", 1.0, -1, 0)
    with pytest.raises(InvalidArgumentError, match="Metric 'm' timestamp must be an integer .64-bit., got str '5'"):
        v.validate_metric("m", 1.0, "5", 0)
    with pytest.raises(InvalidArgumentError, match="Metric 'm' step must be an integer .64-bit., got NoneType None"):
        v.validate_metric("m", 1.0, 0, None)
    with pytest.raises(InvalidArgumentError, match="step must be an integer .64-bit., got float nan"):
        v.validate_metric("m", 1.0, 0, math.nan)
    with pytest.raises(InvalidArgumentError, match="step must fit in a 64-bit integer, got 9223372036854775808"):
        v.validate_metric("m", 1.0, 0, 2**63)
    v.validate_metric("m", 1.0, 0, -5)  # negative steps are fine


def test_timestamps_and_user_ids():
    assert v.validate_timestamp("Run start_time", 5.0) == 5
    with pytest.raises(InvalidArgumentError, match="Run start_time must be a non-negative number of milliseconds "
                                                   "since the epoch, got -2"):
        v.validate_timestamp("Run start_time", -2)
    with pytest.raises(InvalidArgumentError, match="Run end_time must be an integer .64-bit., got str 'soon'"):
        v.validate_timestamp("Run end_time", "soon")
    v.validate_user_id(None)
    v.validate_user_id("ann")
    with pytest.raises(InvalidArgumentError, match="A user id must be a string, got int 7"):
        v.validate_user_id(7)
    with pytest.raises(InvalidArgumentError, match="User id 'u+...' is 257 characters long; the maximum is 256"):
        v.validate_user_id("u" * 257)


def test_metric_key_checked_first():
    with pytest.raises(InvalidArgumentError, match="Invalid metric key '../x'"):
        v.validate_metric("../x", "not a number", 0, 0)


def test_sanitize_metric_value():
    assert v.sanitize_metric_value(math.nan) == (True, 0.0)
    assert v.sanitize_metric_value(math.inf) == (False, sys.float_info.max)
    assert v.sanitize_metric_value(-math.inf) == (False, -sys.float_info.max)
    assert v.sanitize_metric_value(np.float32(0.5)) == (False, 0.5)


def test_param_values(monkeypatch, caplog):
    assert v.validate_param("lr", "0.1") == "0.1"
    with pytest.raises(InvalidArgumentError, match="Param 'lr' value must be a string, got float 0.1"):
        v.validate_param("lr", 0.1)
    assert v.validate_param("p", "x" * 6000) == "x" * 6000
    with caplog.at_level(logging.WARNING, logger="mlcask.tracking.validation"):
        assert v.validate_param("p", "x" * 6001) == "x" * 6000
    assert "Param 'p' value" in caplog.text and "is truncated to 6000 characters" in caplog.text
    monkeypatch.setenv("MLCASK_TRUNCATE_LONG_VALUES", "false")
    with pytest.raises(InvalidArgumentError, match="Param 'p' value 'x+...' is 6001 characters long; the maximum "
                                                   "is 6000"):
        v.validate_param("p", "x" * 6001)
    monkeypatch.delenv("MLCASK_TRUNCATE_LONG_VALUES")
    monkeypatch.setenv("MLFLOW_TRUNCATE_LONG_VALUES", "False")
    with pytest.raises(InvalidArgumentError, match="the maximum is 6000"):
        v.validate_param("p", "x" * 6001)


def test_tag_values():
    assert v.validate_tag("t", "y" * 8000) == "y" * 8000
    assert v.validate_tag("t", "y" * 8001) == "y" * 8000
    with pytest.raises(InvalidArgumentError, match="Tag 't' value must be a string, got NoneType None"):
        v.validate_tag("t", None)
    with pytest.raises(InvalidArgumentError, match="Invalid tag key 'a\\?'"):
        v.validate_tag("a?", "x")


def test_experiment_tags():
    v.validate_experiment_tag("note", "z" * 5000)
    with pytest.raises(InvalidArgumentError, match="Experiment tag 'note' value 'z+...' is 5001 characters long"):
        v.validate_experiment_tag("note", "z" * 5001)
    with pytest.raises(InvalidArgumentError, match="Invalid experiment tag key"):
        v.validate_experiment_tag("a|b", "x")


def test_experiment_names():
    v.validate_experiment_name("n" * 256)
    with pytest.raises(InvalidArgumentError, match="Invalid experiment name '': an experiment needs a non-empty name"):
        v.validate_experiment_name("")
    with pytest.raises(InvalidArgumentError, match="Invalid experiment name None"):
        v.validate_experiment_name(None)
    with pytest.raises(InvalidArgumentError, match="expected a string, got int 3"):
        v.validate_experiment_name(3)
    with pytest.raises(InvalidArgumentError, match="Experiment name 'n+...' is 257 characters long; the maximum is 256"):
        v.validate_experiment_name("n" * 257)


def test_experiment_ids():
    assert v.validate_experiment_id("0") == 0
    assert v.validate_experiment_id("12") == 12
    assert v.validate_experiment_id(7) == 7
    for bad in ("abc", "1.5", "-1", True, None, 1.0):
        with pytest.raises(InvalidArgumentError, match="Invalid experiment id .*: experiment ids are integers"):
            v.validate_experiment_id(bad)


def test_run_ids():
    v.validate_run_id("0123456789abcdef0123456789abcdef")
    v.validate_run_id("run-1_a")
    for bad in ("", "-x", "a b", "a/b", None, 5, "a" * 257):
        with pytest.raises(InvalidArgumentError, match="Invalid run id"):
            v.validate_run_id(bad)


def test_run_names():
    v.validate_run_name("r" * 250)
    with pytest.raises(InvalidArgumentError, match="Run name 'r+...' is 251 characters long; the maximum is 250"):
        v.validate_run_name("r" * 251)
    with pytest.raises(InvalidArgumentError, match="A run name must be a string, got int 1"):
        v.validate_run_name(1)


def test_logged_model_names():
    v.validate_logged_model_name(None)
    v.validate_logged_model_name("my_model-2")
    for bad in ("", "a/b", "a:b", "a.b", "50%", 'q"', "q'"):
        with pytest.raises(InvalidArgumentError, match="Invalid model name .*must be a non-empty string without"):
            v.validate_logged_model_name(bad)


def test_artifact_location():
    v.validate_artifact_location("s3://bucket/x")
    with pytest.raises(InvalidArgumentError, match="cannot be a runs:/ URI, got 'runs:/abc/x'"):
        v.validate_artifact_location("runs:/abc/x")
    with pytest.raises(InvalidArgumentError, match="the maximum is 1000"):
        v.validate_artifact_location("/" + "a" * 1000)


def test_max_results():
    from mlcask.tracking.paging import check_max_results

    assert check_max_results(1, v.MAX_RESULTS_THRESHOLD) == 1
    assert check_max_results(50000, v.MAX_RESULTS_THRESHOLD) == 50000
    for bad in (0, -1, 1.5, "10", True, None):
        with pytest.raises(InvalidArgumentError, match="max_results: it must be a positive integer"):
            check_max_results(bad, v.MAX_RESULTS_THRESHOLD)
    with pytest.raises(InvalidArgumentError, match="max_results: it must be at most 50000, got 50001"):
        check_max_results(50001, v.MAX_RESULTS_THRESHOLD)


def test_batch_limits():
    v.validate_batch_limits(1000, 0, 0)
    v.validate_batch_limits(800, 100, 100)
    with pytest.raises(InvalidArgumentError, match="A batch can log at most 1000 metrics, got 1001"):
        v.validate_batch_limits(1001, 0, 0)
    with pytest.raises(InvalidArgumentError, match="at most 100 params, got 101"):
        v.validate_batch_limits(0, 101, 0)
    with pytest.raises(InvalidArgumentError, match="at most 100 tags, got 101"):
        v.validate_batch_limits(0, 0, 101)
    with pytest.raises(InvalidArgumentError, match="at most 1000 metrics, params and tags, got 1001"):
        v.validate_batch_limits(901, 100, 0)


def test_param_keys_unique():
    v.validate_param_keys_unique(["a", "b"])
    with pytest.raises(InvalidArgumentError, match=r"Duplicate param keys in one batch: \['a', 'b'\]"):
        v.validate_param_keys_unique(["b", "a", "b", "a", "c"])


def test_datasets_and_input_tags():
    v.validate_dataset(Dataset("iris", "abc", "local", "/data"))
    with pytest.raises(InvalidArgumentError, match="A dataset input needs a dataset, got None"):
        v.validate_dataset(None)
    with pytest.raises(InvalidArgumentError, match="Dataset digest must be given, got None"):
        v.validate_dataset(Dataset("iris", None, "local", "/data"))
    with pytest.raises(InvalidArgumentError, match="Dataset name 'n+...' is 501 characters long; the maximum is 500"):
        v.validate_dataset(Dataset("n" * 501, "abc", "local", "/data"))
    with pytest.raises(InvalidArgumentError, match="Dataset digest .* the maximum is 36"):
        v.validate_dataset(Dataset("iris", "d" * 37, "local", "/data"))
    v.validate_input_tag("mlflow.data.context", "training")
    with pytest.raises(InvalidArgumentError, match="Input tag 'k' value 'v+...' is 501 characters long"):
        v.validate_input_tag("k", "v" * 501)
    with pytest.raises(InvalidArgumentError, match="Input tag keys and values must be strings"):
        v.validate_input_tag("k", None)
