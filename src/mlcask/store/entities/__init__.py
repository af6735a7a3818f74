"""MLflow's ``mlflow.store.entities``: the page of search results."""

from mlcask.tracking.paging import PagedList

__all__ = ["PagedList"]
