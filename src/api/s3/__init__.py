"""The S3-compatible front: request authentication (SigV4) and, later, the routes."""
