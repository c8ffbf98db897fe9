"""The tool-function SDK: what a team uses to write an internal MCP server as a Lambda function.

Example:
    from mcp_steward.sdk import ToolContext, ToolError, ToolServer

    server = ToolServer(name="currency", version="1.0.0")

    @server.tool(title="Convert currency", annotations={"readOnlyHint": True})
    def convert(ctx: ToolContext, amount: Amount, from_currency: Code, to_currency: Code) -> Conversion:
        \"\"\"Convert an amount between currencies.\"\"\"

    @server.resource("currency://codes", mime_type="text/plain")
    def codes() -> str:
        \"\"\"The ISO 4217 codes the server knows.\"\"\"

    handler = server.handler

Resources, resource templates, prompts, completers and rich tool content (:mod:`mcp_steward.sdk.content`):
docs/adding-a-tool.md, "Resources, prompts, completion and rich content".

Importing this package stays cheap (pydantic and the standard library only): no boto3, jsonschema,
starlette, mangum or powertools. Secrets live in :mod:`mcp_steward.sdk.secrets`, which imports boto3 lazily.
"""

from mcp_steward.sdk.content import (
    AudioContent,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    PromptMessage,
    ResourceContents,
    ResourceLink,
    TextContent,
    ToolResult,
)
from mcp_steward.sdk.context import ToolContext, ToolError
from mcp_steward.sdk.envelope import Principal, StewardContext
from mcp_steward.sdk.features import ResourceNotFoundError
from mcp_steward.sdk.nested import NestedCallError
from mcp_steward.sdk.server import ToolAnnotations, ToolServer

__all__ = [
    "AudioContent",
    "ContentBlock",
    "EmbeddedResource",
    "ImageContent",
    "NestedCallError",
    "Principal",
    "PromptMessage",
    "ResourceContents",
    "ResourceLink",
    "ResourceNotFoundError",
    "StewardContext",
    "TextContent",
    "ToolAnnotations",
    "ToolContext",
    "ToolError",
    "ToolResult",
    "ToolServer",
]
