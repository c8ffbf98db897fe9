"""Egress: the only path from Steward to vendor MCP servers (docs/design.md section 6).

``policy`` holds the pure rules (URLs, hosts, addresses, credential templates) that both ``steward servers add``
and the egress function apply; ``transport`` the pinned, capped HTTPS client; ``client`` the MCP client of
both protocol eras; ``service`` one egress invocation from envelope to answer.
"""
