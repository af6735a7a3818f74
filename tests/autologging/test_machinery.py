"""The patching machinery every autolog integration shares."""

import inspect
import sys
import threading
import types
import warnings

import pytest

from mlcask.autologging.config import get_config, is_enabled, set_config
from mlcask.autologging.imports import when_imported
from mlcask.autologging.integration import autologging_integration
from mlcask.autologging.patching import inside_patched_call, revert_patches, safe_patch


class Trainer:
    def fit(self, x: int, scale: int = 2) -> int:
        """Train it."""
        return x * scale

    @staticmethod
    def helper(x):
        return x + 1


class Child(Trainer):
    pass


@pytest.fixture
def integration():
    set_config("demo", {"silent": False})
    yield "demo"
    revert_patches("demo")
    set_config("demo", {"disable": True})


def test_patched_method_keeps_name_signature_and_docstring(integration):
    original_signature = inspect.signature(Trainer.fit)
    safe_patch(integration, Trainer, "fit", lambda original, *a, **k: original(*a, **k))
    assert Trainer.fit.__name__ == "fit" and Trainer.fit.__doc__ == "Train it."
    assert inspect.signature(Trainer.fit) == original_signature
    assert Trainer().fit(3) == 6


def test_revert_restores_the_exact_objects(integration):
    original = Trainer.__dict__["fit"]
    original_static = Trainer.__dict__["helper"]
    safe_patch(integration, Trainer, "fit", lambda original, *a, **k: original(*a, **k))
    safe_patch(integration, Trainer, "helper", lambda original, *a, **k: original(*a, **k))
    safe_patch(integration, Child, "fit", lambda original, *a, **k: original(*a, **k))
    assert Trainer.helper(1) == 2
    revert_patches(integration)
    assert Trainer.__dict__["fit"] is original and Trainer.__dict__["helper"] is original_static
    assert "fit" not in Child.__dict__  # inherited before, inherited again


def test_logging_error_is_one_warning_and_the_result_is_unchanged(integration):
    def wrapper(original, *args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("store is down")

    safe_patch(integration, Trainer, "fit", wrapper)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert Trainer().fit(5) == 10
    assert [str(w.message) for w in caught] == [
        "mlcask demo autologging: logging failed and was skipped (RuntimeError: store is down)"]


def test_error_before_the_original_still_trains(integration):
    calls = []

    def wrapper(original, *args, **kwargs):
        raise ValueError("odd data")

    def fit(self, x):
        calls.append(x)
        return x

    Trainer.fit2 = fit
    try:
        safe_patch(integration, Trainer, "fit2", wrapper)
        with pytest.warns(UserWarning, match="odd data"):
            assert Trainer().fit2(7) == 7
        assert calls == [7]
    finally:
        revert_patches(integration)
        del Trainer.fit2


def test_the_originals_own_exception_propagates_unchanged(integration):
    error = ZeroDivisionError("user bug")

    class Broken:
        def fit(self):
            raise error

    safe_patch(integration, Broken, "fit", lambda original, *a, **k: original(*a, **k))
    with pytest.raises(ZeroDivisionError) as info:
        Broken().fit()
    assert info.value is error and not hasattr(error, "__mlcask_from_original__")


def test_nested_calls_go_straight_to_the_original(integration):
    seen = []

    class Outer:
        def fit(self):
            return Inner().fit() + 1

    class Inner:
        def fit(self):
            return 1

    def wrapper(original, self, *args, **kwargs):
        seen.append(type(self).__name__)
        assert inside_patched_call(integration)
        return original(self, *args, **kwargs)

    safe_patch(integration, Outer, "fit", wrapper)
    safe_patch(integration, Inner, "fit", wrapper)
    assert Outer().fit() == 2
    assert seen == ["Outer"]
    assert not inside_patched_call(integration)


def test_disabled_integration_calls_the_original_only(integration):
    seen = []
    safe_patch(integration, Trainer, "fit", lambda original, *a, **k: seen.append(1) or original(*a, **k))
    set_config(integration, {"disable": True})
    assert Trainer().fit(1) == 2 and seen == []


def test_threads_track_nesting_separately(integration):
    barrier = threading.Barrier(2)
    depth_seen = []

    class Slow:
        def fit(self):
            barrier.wait(timeout=5)
            return 1

    def wrapper(original, *args, **kwargs):
        depth_seen.append(inside_patched_call(integration))
        return original(*args, **kwargs)

    safe_patch(integration, Slow, "fit", wrapper)
    threads = [threading.Thread(target=Slow().fit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert depth_seen == [True, True]  # each thread's own outer call, neither treated as nested


def test_autologging_integration_records_arguments_and_disables():
    calls = []

    @autologging_integration("demo2")
    def autolog(log_models=True, disable=False, silent=False):
        calls.append(log_models)

    autolog(log_models=False)
    assert calls == [False] and get_config("demo2") == {"log_models": False, "disable": False, "silent": False}
    autolog(disable=True)
    assert calls == [False] and not is_enabled("demo2")


def test_post_import_hook_runs_once_the_module_is_imported(tmp_path, monkeypatch):
    (tmp_path / "late_module_for_hook.py").write_text("VALUE = 41\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []
    when_imported("late_module_for_hook", lambda module: seen.append(module.VALUE + 1))
    assert seen == []
    import late_module_for_hook  # noqa: F401

    assert seen == [42]
    when_imported("late_module_for_hook", lambda module: seen.append("again"))  # already imported: now
    assert seen == [42, "again"]
    sys.modules.pop("late_module_for_hook")
    assert isinstance(late_module_for_hook, types.ModuleType)
