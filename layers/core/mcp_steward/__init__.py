"""MCP Steward: a governance plane and application server for Model Context Protocol tool traffic."""

__version__ = "0.1.0"
