"""The WebDAV front: an ASGI app on uvicorn, wsgidav behind it for the whole protocol."""
