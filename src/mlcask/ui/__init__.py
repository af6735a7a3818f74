"""The web UI's assets and pages, served by ``mlcask server`` (and ``mlcask ui``).

The UI is a set of static files (``static/``): ``index.html``, the stylesheet, the page
modules in ``static/js`` and the vendored libraries in ``static/vendor`` (Preact, htm, uPlot;
see ``scripts/refresh-ui-vendor``). It runs in the browser and calls the server's
``/ajax-api/2.0`` twins of its REST API, so whatever it shows a client can read too.
:func:`mlcask.ui.pages.routes` gives the routes that serve them.
"""
