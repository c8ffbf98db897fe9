"""The contracts between processes and layers, each written once and used by both sides.

One module per contract: a typed definition (a frozen dataclass, or constants) with its encoding and decoding.
Decoding malformed input raises the contract's own subclass of :class:`ContractError`. The standard library only:
the tool SDK imports these modules, and its import weight is tested.

- ``envelope``: the invocation envelope governance sends a tool function (docs/design.md section 5);
- ``vendor_target``: the ``vendor`` member of an egress invocation (section 6);
- ``authorizer_context``: what the request authorizer hands the governance function through API Gateway;
- ``result_meta``: the ``steward/*`` ``_meta`` keys of a ``tools/call`` result and the egress's reasons;
- ``nested_event``: a tool function's nested call, as the nested-governance function receives it;
- ``template_ids``: the template's logical IDs the code relies on;
- ``state_file``: the local plane's state file (section 10).
"""

from __future__ import annotations


class ContractError(ValueError):
    """Input that does not follow a contract; the message says which part (never echoing a secret)."""
