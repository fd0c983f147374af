"""Route groups of the JSON API v1, one module per concept."""
