"""Which resource template a URI is read through: RFC 6570 templates matched in linear time.

A template's variables match as its server would expand them: ``{var}`` (simple expansion) one or more characters
other than ``/``, ``?`` and ``#``; ``{+var}`` and ``{#var}`` (reserved) any run that is not empty; ``{/var}``,
``{.var}``, ``{;var}``, ``{?var}`` and ``{&var}`` their prefix followed by one value of the simple kind. A template
with anything else (several variables in one expression, an explode or prefix modifier, an unclosed brace) matches
nothing: its resources can be listed but not read through it (fail closed, never a guess).

The URI is attacker text: matching runs on RE2 (linear time), over a template the registry approved.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from mcp_steward.domain.names import MAX_URI_BYTES

_EXPRESSION: Final = re.compile(r"\{([+#./;?&]?)([A-Za-z0-9_]{1,64})\}")
_SIMPLE: Final = "([^/?#]+)"
_ANY: Final = "(.+)"
_PREFIXED: Final = {"/": "/", ".": r"\.", ";": ";", "?": r"\?", "&": "&"}
#: Distinct templates whose compiled form is kept (each is a small RE2 program).
_CACHED: Final = 512


@functools.lru_cache(maxsize=_CACHED)
def _compiled(template: str) -> tuple[object, tuple[str, ...]] | None:
    import re2  # type: ignore[import-untyped]  # google-re2: imported on first use (cold start)

    parts: list[str] = []
    names: list[str] = []
    position = 0
    for found in _EXPRESSION.finditer(template):
        literal = template[position : found.start()]
        if "{" in literal or "}" in literal:
            return None
        parts.append(re.escape(literal))
        operator, name = found.group(1), found.group(2)
        if name in names:
            return None
        names.append(name)
        if operator in ("", "+", "#"):
            parts.append(("#" if operator == "#" else "") + (_SIMPLE if operator == "" else _ANY))
        else:
            key = f"{name}=" if operator in ";?&" else ""
            parts.append(_PREFIXED[operator] + re.escape(key) + _SIMPLE)
        position = found.end()
    tail = template[position:]
    if "{" in tail or "}" in tail or not names:
        return None
    parts.append(re.escape(tail))
    options = re2.Options()
    options.max_mem = 1 << 20
    try:
        program = re2.compile("".join(parts), options)
    except re2.error:
        return None
    return program, tuple(names)


def match_template(template: str, uri: str) -> dict[str, str] | None:
    """The template's variables as the URI binds them, or None when the URI is not one of the template's."""
    if len(uri.encode()) > MAX_URI_BYTES or len(template.encode()) > MAX_URI_BYTES:
        return None
    compiled = _compiled(template)
    if compiled is None:
        return None
    program, names = compiled
    found = program.fullmatch(uri)  # type: ignore[attr-defined]
    if found is None:
        return None
    return dict(zip(names, found.groups(), strict=True))
