"""Run MLflow's own test modules against mlcask and classify what they find.

``scripts/mlflow-parity`` is the command; docs/parity.md says how to get the tests, run them and
read the output. Modules:

- :mod:`alias`: ``import mlflow.X`` gives the ``mlcask.X`` module object (a ``sys.meta_path`` finder).
- :mod:`placeholders`: what a guarded import binds when an ``mlflow`` name is absent; using it records
  the name and raises.
- :mod:`stage`: a working copy of the test folder with MLflow's conftest files replaced by ours and
  top-level imports guarded.
- :mod:`plugin`: the pytest plugin run inside each pytest process (alias, timeouts, outcome records).
- :mod:`rules`: the classification rules (pass / missing / different / set-aside), in one place.
- :mod:`report`: summary tables, JSON and the per-test report.
- :mod:`runner`: the command line.
"""
