"""The escaping rule that lets a CoNLL column file hold any token exactly.

A CoNLL line is ``token<TAB>tag``, columns split on whitespace, a blank line between
sentences and ``-DOCSTART-`` lines skipped. So a token that contains whitespace, is empty,
or is exactly ``-DOCSTART-`` cannot be written as it is. Files written by labelwise
(:func:`labelwise.annotate.exports.export_conll`) start with the marker line
``-DOCSTART-<TAB>labelwise:escaped`` (other CoNLL readers skip ``-DOCSTART-`` lines) and
escape each field with a backslash:

=============  ===========================================
written        stands for
=============  ===========================================
``\\\\``       a backslash
``\\s``        a space
``\\t``        a tab
``\\n``        a line feed
``\\r``        a carriage return
``\\uXXXX``    any other whitespace or surrogate character (4 hex digits)
``\\&``        nothing: the empty token is written ``\\&``
``\\-``        ``-``: the token ``-DOCSTART-`` is written ``\\-DOCSTART-``
=============  ===========================================

:func:`labelwise.data.load_conll` undoes the escapes when the file starts with the marker
(``escapes="auto"``, the default) or when asked to (``escapes=True``); files from other
tools are read as they are, so a corpus token such as ``1\\/2`` keeps its backslash.
"""

from __future__ import annotations

import re

from labelwise.errors import DataError

MARKER = "labelwise:escaped"
MARKER_LINE = f"-DOCSTART-\t{MARKER}"
DOCSTART = "-DOCSTART-"

_NAMED = {"\\": "\\\\", " ": "\\s", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_DECODE = {"\\": "\\", "s": " ", "t": "\t", "n": "\n", "r": "\r", "&": "", "-": "-"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)?", re.DOTALL)


def _needs_code(character: str) -> bool:
    return character.isspace() or "\ud800" <= character <= "\udfff"


def escape_field(value: str) -> str:
    """One token (or tag) as a whitespace-free CoNLL field that :func:`unescape_field`
    turns back into exactly ``value``."""
    if value == "":
        return "\\&"
    out = []
    for character in value:
        if character in _NAMED:
            out.append(_NAMED[character])
        elif _needs_code(character):
            out.append(f"\\u{ord(character):04x}")
        else:
            out.append(character)
    field = "".join(out)
    return "\\" + field if field == DOCSTART else field


def unescape_field(field: str, *, path: str | None = None, line: int | None = None) -> str:
    """Undo :func:`escape_field`; an unknown escape is a DataError naming the line."""

    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code is None or (code not in _DECODE and len(code) != 5):
            raise DataError(
                f"unknown escape {match.group(0)!r} in the field {field!r}.",
                path=path,
                line=line,
                fix="in a labelwise:escaped CoNLL file write a backslash as \\\\ "
                "(escapes: \\\\ \\s \\t \\n \\r \\uXXXX \\& \\-).",
            )
        return chr(int(code[1:], 16)) if len(code) == 5 else _DECODE[code]

    return _ESCAPE.sub(replace, field) if "\\" in field else field
