"""Exception taxonomy shared by the engine and node packs."""

from __future__ import annotations

from dataclasses import dataclass


class FlowEngineError(Exception):
    """Base class of every error the engine raises on purpose."""


@dataclass(frozen=True)
class ValidationIssue:
    """One problem in a flow document, named by node, type and field."""

    node_id: str | None
    type: str | None
    path: str
    message: str
    severity: str = "error"  # "error" blocks a deploy, "warning" does not

    def as_dict(self) -> dict:
        return {"node_id": self.node_id, "type": self.type, "path": self.path,
                "message": self.message, "severity": self.severity}

    def __str__(self) -> str:
        where = f"node {self.node_id!r}" if self.node_id else "document"
        if self.type:
            where += f" ({self.type})"
        field = f" field {self.path!r}" if self.path else ""
        return f"{self.severity}: {where}{field}: {self.message}"


class FlowValidationError(FlowEngineError):
    """A flow document failed validation; `issues` lists every problem found."""

    def __init__(self, issues: list[ValidationIssue]):
        self.issues = issues
        super().__init__("; ".join(str(i) for i in issues[:5]) + (" ..." if len(issues) > 5 else ""))


class ConfigError(FlowEngineError):
    """A node's configuration is invalid (raised from Node.setup / compile)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


class NodeError(FlowEngineError):
    """A per-message error that a node reports; routed to catch nodes."""
