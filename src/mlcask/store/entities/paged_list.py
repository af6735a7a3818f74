"""MLflow's ``mlflow.store.entities.paged_list.PagedList``: mlcask's page of search results
(:class:`mlcask.tracking.paging.PagedList`, a list with the next page's ``token``)."""

from mlcask.tracking.paging import PagedList

__all__ = ["PagedList"]
