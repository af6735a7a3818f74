"""The model registry store: registered models, their numbered versions, tags and aliases.

Modules: ``store`` (the :class:`SqlRegistryStore` class, assembled from ``models``,
``versions``, ``aliases`` and ``search``), ``reads`` (statements and batch loaders),
``sources`` (download URIs), ``validation`` and ``paging``.
"""
