"""JSON-RPC and MCP wire rules: versions and eras, parsing with limits, the error table."""
