import subprocess
import sys


def test_import_mlcask_loads_no_heavy_module():
    code = (
        "import sys, mlcask\n"
        "heavy = [m for m in ('pandas', 'numpy', 'yaml', 'sklearn', 'xgboost', 'lightgbm') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_submodules_load_on_first_use():
    import mlcask

    assert mlcask.pyfunc.load_model is not None
    assert "pyfunc" in dir(mlcask)
    try:
        mlcask.no_such_thing
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
