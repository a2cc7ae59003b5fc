"""Durable state in one SQLite file (aiosqlite, WAL): flow revisions and run bookkeeping."""

from .revisions import Revision, RevisionStore, document_rev

__all__ = ["Revision", "RevisionStore", "document_rev"]
