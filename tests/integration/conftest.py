"""Fixtures for the integration tests: tables shaped like the template's, on the session's moto server."""

from tests.integration.contract.conftest import fresh_table

__all__ = ["fresh_table"]
