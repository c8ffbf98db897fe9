"""Briefing tool server (``briefing``): an example of a tool that calls other tools through Steward.

Its one tool asks a *source* tool (another tool Steward governs: an internal one, or a vendor's behind the
egress function) and returns the answer with where it came from. The call goes through nested governance
with this invocation's delegation token (``ctx.call_tool``): Steward checks that this server is granted the
source (``steward grants add --server briefing --tool ...``), charges the person's team within the server's
nested allowance (``steward servers delegation briefing --calls N --credit C``) and records the chain. This
function never holds a vendor credential, and needs no permission but invoking nested governance.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from mcp_steward.sdk import NestedCallError, ToolContext, ToolError, ToolServer
from mcp_steward.sdk.nested import NestedTransport

SourceName = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9-]{0,15}__[A-Za-z0-9_.-]{1,64}$",
        # No example naming a tool: a definition that names another registered tool is a scan finding.
        description="The exposed name of the tool to ask: <server>__<tool>.",
    ),
]


class Briefing(BaseModel):
    """A source's answer, attributed."""

    source: str = Field(description="The tool that answered.")
    text: str = Field(description="The text the source answered with.")
    data: dict[str, Any] | None = Field(default=None, description="The source's structured answer, if any.")


def build_server(nested: NestedTransport | None = None) -> ToolServer:
    """The briefing server; ``nested`` replaces the Lambda invoke of nested governance (tests)."""
    server = ToolServer(name="briefing", version="1.0.0", nested=nested)

    @server.tool(title="Brief from a source", annotations={"readOnlyHint": True, "openWorldHint": True})
    def brief(ctx: ToolContext, source: SourceName, arguments: dict[str, Any]) -> Briefing:
        """Ask one source tool with the given arguments and return its answer, attributed to the source."""
        try:
            answer = ctx.call_tool(source, arguments)
        except NestedCallError as refused:
            raise ToolError(f"{source} could not be asked: {refused.message}") from None
        text = "\n".join(
            str(block.get("text", "")) for block in answer.get("content", []) if block.get("type") == "text"
        )
        if answer.get("isError"):
            raise ToolError(f"{source} failed: {text[:500]}")
        structured = answer.get("structuredContent")
        ctx.report_units(1)
        return Briefing(source=source, text=text, data=structured if isinstance(structured, dict) else None)

    return server


server = build_server()
handler = server.handler
