"""``mlcask db import``: copy an MLflow store (its database or a running server) into mlcask.

:mod:`~mlcask.tracking.importing.sources` opens a source, :mod:`~mlcask.tracking.importing.copier`
copies it through :mod:`mlcask.tracking.store.importing`, and
:mod:`~mlcask.tracking.importing.artifacts` moves and checks the files.
"""
