"""Every rule family, imported once so their actions and due-handlers are registered."""

from rules import designation  # noqa: F401  D1-D7
from rules import money  # noqa: F401  S1-S3, PD5, PD6
from rules import operating  # noqa: F401  M1-M4, M7, PD3, PD4

from rules.engine import ACTIONS, DUE_HANDLERS

__all__ = ["ACTIONS", "DUE_HANDLERS"]
