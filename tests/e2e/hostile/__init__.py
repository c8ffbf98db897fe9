"""A hostile tool server for the end-to-end regressions (tests/e2e/test_hostile_tool_server.py)."""
