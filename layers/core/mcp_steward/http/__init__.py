"""The MCP endpoint: a Starlette app serving both protocol eras on ``POST /mcp``."""
