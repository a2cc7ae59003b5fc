"""flowengine: a Node-RED-compatible flow engine in Python for edge devices.

The public Node API for node packs: Node, NodeConfig, Message helpers, errors, TypedValue.
"""

from .errors import ConfigError, FlowValidationError, NodeError, ValidationIssue
from .jsvalue import UNDEFINED
from .message import Message, clone_message, new_msgid
from .node import Node, NodeConfig
from .typed import TypedValue

__all__ = ["ConfigError", "FlowValidationError", "Message", "Node", "NodeConfig", "NodeError", "TypedValue",
           "UNDEFINED", "ValidationIssue", "clone_message", "new_msgid"]
__version__ = "0.1.0"
