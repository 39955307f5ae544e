"""Every rule family, imported once so their actions and due-handlers are registered."""

from rules import designation  # noqa: F401  D1-D7

from rules.engine import ACTIONS, DUE_HANDLERS

__all__ = ["ACTIONS", "DUE_HANDLERS"]
