"""What of a definition a model reads: the fields the pin covers and the scanner reads (one list, so that neither
can miss a field the other sees: a change to anything here quarantines an approved entry, and is scanned).

Tools have the first six; a prompt's ``arguments`` (names, titles, descriptions), a resource's ``uri`` and a
template's ``uriTemplate`` and their ``mimeType`` are read by a model as well. A tool has none of the later fields,
so its hash is what it was before prompts and resources were registered (docs/design.md section 4). Other members
(``_meta``, ``icons``, ``size``...) are neither pinned nor scanned.
"""

from __future__ import annotations

from typing import Final

MODEL_READ_FIELDS: Final = (
    "name",
    "title",
    "description",
    "inputSchema",
    "outputSchema",
    "annotations",
    "arguments",
    "uri",
    "uriTemplate",
    "mimeType",
)
