import subprocess
import sys


def test_import_mlcask_loads_no_heavy_module():
    code = (
        "import sys, mlcask\n"
        "heavy = [m for m in ('pandas', 'numpy', 'yaml', 'sklearn', 'xgboost', 'lightgbm', 'pyspark') if m in sys.modules]\n"
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


def test_pyfunc_and_the_spark_packages_load_no_pyspark():
    """pyspark is an optional extra: importing mlcask.pyfunc (spark_udf's home), mlcask.spark
    and mlcask.pyspark.ml leaves it unloaded until Spark is used."""
    code = ("import sys, mlcask.pyfunc, mlcask.spark, mlcask.pyspark.ml\n"
            "print('pyspark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_autolog_imports_no_library_it_only_watches_for():
    """mlcask.autolog() patches pyspark.ml when it is imported, without importing it itself."""
    code = ("import sys, mlcask\nmlcask.autolog()\nprint('pyspark' in sys.modules)\n"
            "import pyspark.ml\nfrom mlcask.autologging import is_enabled\nprint(is_enabled('pyspark.ml'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
