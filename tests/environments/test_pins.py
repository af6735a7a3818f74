"""violated_pins: the model's requirement pins the running environment does not satisfy."""

from __future__ import annotations

import importlib.metadata

from mlcask.environments import violated_pins


def test_lists_each_violated_pin(tmp_path):
    installed = importlib.metadata.version("scikit-learn")
    numpy = importlib.metadata.version("numpy")
    (tmp_path / "requirements.txt").write_text(
        f"mlflow==0.1\nscikit-learn==1.5.2\nnumpy=={numpy}\npandas>=1\nno-such-package-mlcask==1.0\n"
        "click\nsome-windows-only==1; sys_platform == 'win32'\n")
    assert violated_pins(tmp_path) == [f"scikit-learn==1.5.2 (installed: {installed})",
                                       "no-such-package-mlcask==1.0 (not installed)"]


def test_nothing_violated(tmp_path):
    (tmp_path / "requirements.txt").write_text(f"numpy=={importlib.metadata.version('numpy')}\n")
    assert violated_pins(tmp_path) == []


def test_saved_model_pinning_an_older_scikit_learn(old_sklearn_model):
    found = violated_pins(old_sklearn_model)
    assert any(line.startswith("scikit-learn==1.5.2 (installed: ") for line in found)
    assert not any(line.startswith("mlflow") for line in found)
