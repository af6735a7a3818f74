"""``mlcask server``: MLflow's tracking REST API, the artifact proxy and authentication.

The app is :func:`mlcask.server.app.create_app` (an ASGI app built from a
:class:`mlcask.server.config.ServerConfig`); endpoints are declared in tables
(:mod:`mlcask.server.endpoints` says how).
"""
