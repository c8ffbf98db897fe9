"""RFC 6570 level 1 URI templates for resource templates: parse at decoration, match a URI in linear time.

A template is literal text and ``{name}`` variables (``name`` a Python identifier); a variable matches one or
more characters other than ``/`` and its value is passed as it appears in the URI (not percent-decoded).
Operators (``{+x}``, ``{?x}``, ...), lists (``{x,y}``) and modifiers (``{x*}``) are refused, and so are two
variables with nothing between them (``{a}{b}``: no way to tell where one ends).

Matching uses no regular expression. Variables never contain ``/``, so the URI's ``/``-separated segments
line up one to one with the template's; within a segment the literal prefix and suffix are checked and each
variable but the last ends at the first occurrence of the literal after it (the leftmost split: if any split
matches, this one does, since later variables only need one character each). Every step is a ``str.find``
moving forward, so a hostile URI costs time linear in its length, which is bounded by :data:`MAX_URI_CHARS`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

MAX_URI_CHARS: Final = 2048
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_FORBIDDEN_LITERAL = frozenset(' \t\r\n"<>\\^`|{}')


class UriTemplateError(ValueError):
    """The text is not a template this SDK accepts (RFC 6570 level 1, unambiguous)."""


@dataclass(frozen=True, slots=True)
class _Segment:
    """One ``/``-separated piece: ``literals[0] {variables[0]} literals[1] ... {variables[-1]} literals[-1]``."""

    literals: tuple[str, ...]
    variables: tuple[str, ...]

    def match(self, text: str, found: dict[str, str]) -> bool:
        prefix, suffix = self.literals[0], self.literals[-1]
        if not self.variables:
            return text == prefix
        if len(text) < len(prefix) + len(suffix) + len(self.variables) or not text.startswith(prefix):
            return False
        end = len(text) - len(suffix)
        if not text.endswith(suffix):
            return False
        position = len(prefix)
        for name, literal in zip(self.variables[:-1], self.literals[1:-1], strict=True):
            at = text.find(literal, position + 1, end)
            if at < 0:
                return False
            found[name] = text[position:at]
            position = at + len(literal)
        if end - position < 1:
            return False
        found[self.variables[-1]] = text[position:end]
        return True


@dataclass(frozen=True, slots=True)
class UriTemplate:
    """A parsed level 1 template; :meth:`match` a URI against it, :meth:`expand` values into it."""

    text: str
    variables: tuple[str, ...]
    _segments: tuple[_Segment, ...]

    @classmethod
    def parse(cls, text: str) -> UriTemplate:
        """Parse ``text``.

        Raises:
            UriTemplateError: not a string, longer than :data:`MAX_URI_CHARS`, no scheme, no variable, a
                variable that is not a plain ``{identifier}``, a repeated variable, two adjacent variables,
                or a literal character a URI may not hold (space, quote, ``<>\\^`|{}``).
        """
        if not isinstance(text, str) or not text or len(text) > MAX_URI_CHARS:
            raise UriTemplateError(f"a URI template is a string of 1-{MAX_URI_CHARS} characters")
        if not _SCHEME.match(text):
            raise UriTemplateError(f"URI template {text!r} must start with a scheme (such as 'files:')")
        segments: list[_Segment] = []
        names: list[str] = []
        for piece in text.split("/"):
            literals: list[str] = []
            variables: list[str] = []
            position = 0
            while True:
                start = piece.find("{", position)
                literal = piece[position:] if start < 0 else piece[position:start]
                if _FORBIDDEN_LITERAL.intersection(literal) or any(ord(c) < 0x20 or ord(c) == 0x7F for c in literal):
                    raise UriTemplateError(f"URI template {text!r}: invalid character in {literal!r}")
                if start < 0:
                    literals.append(literal)
                    break
                if variables and not literal:
                    raise UriTemplateError(f"URI template {text!r}: two variables need literal text between them")
                literals.append(literal)
                end = piece.find("}", start)
                name = piece[start + 1 : end] if end >= 0 else ""
                if end < 0 or not _VARIABLE.fullmatch(name):
                    raise UriTemplateError(
                        f"URI template {text!r}: only {{name}} variables (RFC 6570 level 1, a Python identifier)"
                    )
                if name in names:
                    raise UriTemplateError(f"URI template {text!r}: variable {name!r} appears twice")
                names.append(name)
                variables.append(name)
                position = end + 1
            segments.append(_Segment(tuple(literals), tuple(variables)))
        if not names:
            raise UriTemplateError(f"URI template {text!r} has no variable: declare it as a resource")
        return cls(text, tuple(names), tuple(segments))

    def match(self, uri: str) -> dict[str, str] | None:
        """The variables' values if ``uri`` matches, else None (also for a URI longer than the bound)."""
        if not isinstance(uri, str) or len(uri) > MAX_URI_CHARS:
            return None
        pieces = uri.split("/")
        if len(pieces) != len(self._segments):
            return None
        found: dict[str, str] = {}
        for segment, piece in zip(self._segments, pieces, strict=True):
            if not segment.match(piece, found):
                return None
        return found

    def expand(self, values: Mapping[str, str]) -> str:
        """The URI with each variable replaced by its value, as given (no percent-encoding).

        Raises:
            ValueError: a variable has no value, or a value is empty or holds ``/``.
        """
        parts: list[str] = []
        for segment in self._segments:
            piece = [segment.literals[0]]
            for name, literal in zip(segment.variables, segment.literals[1:], strict=True):
                value = values.get(name)
                if not isinstance(value, str) or not value or "/" in value:
                    raise ValueError(f"variable {name!r} needs a non-empty value without '/'")
                piece.extend((value, literal))
            parts.append("".join(piece))
        return "/".join(parts)
