"""The HTTP server: Node-RED's admin API shape (/flows), our API under /api/v1, health."""

from .app import create_app

__all__ = ["create_app"]
