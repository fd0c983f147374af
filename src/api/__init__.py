"""HTTP fronts on the ASGI side: the JSON API v1 and pages for people."""
