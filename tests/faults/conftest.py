"""The faults tests use the operations tests' dev server fixtures."""

from tests.workers.conftest import ops_client, ops_server  # noqa: F401
