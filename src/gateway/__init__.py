"""lockr's core: storage engine, accounts, auth and quota, shared by every front.

Modules here import no front (``api``, ``webdav``, ``linkservice``); only the
composition root (:mod:`gateway.server`, :mod:`gateway.cli`) does.
"""
