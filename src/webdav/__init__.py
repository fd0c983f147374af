"""The WebDAV front: a wsgidav provider over the engine, served by cheroot."""
