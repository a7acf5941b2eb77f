"""JSON text exactly as R's jsonlite writes it (reference sections 1.1.9 and 2.2.3). Pure, no I/O.

Two writers share the scalar rules:

* :func:`canonical` is ``jsonlite::toJSON(x, auto_unbox = TRUE)`` (compact, ``digits = 4``), the
  text ``metadata_sha`` is computed over; it must be byte-exact.
* :func:`pretty` is the same with ``pretty = TRUE``, the layout of the JSON files datom writes
  (byte-similar files are a nicety, not a requirement).

How Python values map onto R values:

* ``dict`` (any ``Mapping`` with ``str`` keys) -> R named list -> JSON object, insertion order kept;
* ``list`` -> R list -> JSON array, printed one element per line by :func:`pretty`;
* ``tuple`` -> R atomic vector -> JSON array, printed inline (``["a", "b"]``) by :func:`pretty` when all
  its elements are scalars. A tuple is never unboxed: build a bare scalar yourself where R would have
  a length-1 vector (e.g. single-column ``colnames``);
* ``bool`` -> ``true``/``false``; ``int`` within +-2147483647 -> R integer; any other ``int`` and every
  ``float`` -> R double (``digits = 4`` formatting, see :func:`format_number`); ``str`` -> string;
* ``None`` -> rejected: datom never writes JSON ``null`` (R would read it back as ``NULL`` and re-hash
  it as ``{}``, reference section 8 item 14).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from json.encoder import encode_basestring as _encode_basestring
from typing import Any

__all__ = [
    "R_INT_MAX",
    "canonical",
    "format_number",
    "is_r_integer",
    "parse",
    "pretty",
    "quote_string",
]

#: Largest magnitude of an R integer (``.Machine$integer.max``; ``-2^31`` is ``NA_integer_``).
R_INT_MAX = 2147483647

_DIGITS = 4
_POW10 = 10.0**_DIGITS
_MODP_LOWER = 1e-5

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "/": "\\/",
}
for _code in range(0x20):
    _ESCAPES.setdefault(chr(_code), f"\\u{_code:04x}")
del _code

# Characters jsonlite escapes: `"`, `\`, U+0000-U+001F, and `/` only right after `<`.
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]|(?<=<)/')


def is_r_integer(value: object) -> bool:
    """True if ``value`` is a Python ``int`` (not ``bool``) that R would hold as an integer."""
    return type(value) is not bool and isinstance(value, int) and -R_INT_MAX <= value <= R_INT_MAX


def _modp(value: float) -> str:
    """jsonlite's ``modp_dtoa2(value, 4)``: fixed point, at most 4 decimals, half-even on exact ties.

    Only called for ``1e-5 < |value| < 2147483647``; float arithmetic is IEEE double as in the C code.
    """
    neg = value < 0
    if neg:
        value = -value
    whole = int(value)
    tmp = (value - whole) * _POW10
    frac = int(tmp)
    diff = tmp - frac
    if diff > 0.5 or (diff == 0.5 and frac & 1):
        frac += 1
        if frac >= _POW10:
            frac = 0
            whole += 1
    text = str(whole)
    if frac:
        text += "." + f"{frac:0{_DIGITS}d}".rstrip("0")
    return "-" + text if neg else text


def format_number(value: int | float) -> str:
    """Format a number as jsonlite ``toJSON(digits = 4)`` does (reference section 2.2.3).

    * An ``int`` within +-2147483647 is an R integer: plain decimal.
    * Any other number is an R double: non-finite values become the quoted strings ``"NA"``,
      ``"NaN"``, ``"Inf"``, ``"-Inf"``; ``1e-5 < |v| < 2147483647`` uses fixed point with at most
      4 decimals (exact ties round half to even, trailing zeros dropped, ``0.99995`` -> ``1``);
      everything else uses C ``%.*g`` with ``p = ceil(min(17, max(1, log10|v|) + 4))``
      (jsonlite >= 1.8.5; ``0`` -> ``0``, ``1e-5`` -> ``1e-05``, ``1e15`` -> ``1000000000000000``).

    Python NaN is written ``"NaN"`` (it has no separate R ``NA``).
    """
    if isinstance(value, bool):
        raise TypeError("format_number() takes a number, not a bool")
    if isinstance(value, int):
        if -R_INT_MAX <= value <= R_INT_MAX:
            return str(value)
        try:
            value = float(value)
        except OverflowError:
            return '"Inf"' if value > 0 else '"-Inf"'
    elif not isinstance(value, float):
        raise TypeError(f"format_number() takes an int or float, got {type(value).__name__}")
    if math.isnan(value):
        return '"NaN"'
    if math.isinf(value):
        return '"Inf"' if value > 0 else '"-Inf"'
    magnitude = abs(value)
    if _MODP_LOWER < magnitude < R_INT_MAX:
        return _modp(value)
    log10 = math.log10(magnitude) if magnitude > 0 else -math.inf
    precision = math.ceil(min(17.0, max(1.0, log10) + _DIGITS))
    return "%.*g" % (precision, value)  # noqa: UP031 - C printf semantics are the point


def _escape_match(match: re.Match[str]) -> str:
    return _ESCAPES[match.group()]


def quote_string(value: str) -> str:
    """Quote a string as jsonlite does: UTF-8 kept raw; ``"`` ``\\`` and control characters escaped.

    ``\\n \\r \\t \\b \\f`` get their short escapes, other U+0000-U+001F become ``\\u00xx`` (lowercase hex),
    and ``/`` is escaped only when it follows ``<`` (``</`` -> ``<\\/``). U+007F, U+2028 and all other
    characters are written as themselves.
    """
    quoted = _encode_basestring(value)  # the same escapes, in C; only ``</`` is left to do
    return quoted.replace("</", "<\\/") if "</" in quoted else quoted


def _quote_string_re(value: str) -> str:
    """:func:`quote_string` spelled out with the escape table (the definition the fast one is tested against)."""
    if _NEEDS_ESCAPE.search(value) is None:
        return '"' + value + '"'
    return '"' + _NEEDS_ESCAPE.sub(_escape_match, value) + '"'


def _scalar(value: Any, where: str) -> str | None:
    """The JSON text of a scalar, or None if ``value`` is a container."""
    if isinstance(value, str):
        return quote_string(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return format_number(value)
    if value is None:
        raise ValueError(f"JSON null is never written by datom (at {where}); omit the member instead")
    return None


def _key(key: object, where: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"JSON object keys must be strings, got {type(key).__name__} at {where}")
    return quote_string(key)


def _type_error(value: Any, where: str) -> TypeError:
    return TypeError(f"cannot write a {type(value).__name__} as JSON (at {where})")


def _canonical(value: Any, where: str, out: list[str]) -> None:
    text = _scalar(value, where)
    if text is not None:
        out.append(text)
    elif isinstance(value, Mapping):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(_key(key, where))
            out.append(":")
            _canonical(item, f"{where}.{key}", out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _canonical(item, f"{where}[{i}]", out)
        out.append("]")
    else:
        raise _type_error(value, where)


def canonical(value: Any) -> str:
    """Compact JSON exactly as ``jsonlite::toJSON(value, auto_unbox = TRUE)`` (``digits = 4``).

    No whitespace; objects keep their insertion order; ``list`` and ``tuple`` are both arrays;
    numbers and strings follow :func:`format_number` and :func:`quote_string`.
    Raises ``ValueError`` on ``None`` and ``TypeError`` on anything that is not a JSON value.
    """
    out: list[str] = []
    _canonical(value, "$", out)
    return "".join(out)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) or value is None


def _pretty(value: Any, depth: int, where: str) -> str:
    text = _scalar(value, where)
    if text is not None:
        return text
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        pad = "  " * (depth + 1)
        members = [
            f"{pad}{_key(key, where)}: {_pretty(item, depth + 1, f'{where}.{key}')}" for key, item in value.items()
        ]
        return "{\n" + ",\n".join(members) + "\n" + "  " * depth + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        if isinstance(value, tuple) and all(_is_scalar(item) for item in value):
            return "[" + ", ".join(_pretty(item, depth, f"{where}[{i}]") for i, item in enumerate(value)) + "]"
        pad = "  " * (depth + 1)
        items = [f"{pad}{_pretty(item, depth + 1, f'{where}[{i}]')}" for i, item in enumerate(value)]
        return "[\n" + ",\n".join(items) + "\n" + "  " * depth + "]"
    raise _type_error(value, where)


class _Unusual(Exception):
    """A value :func:`_pretty_into` leaves to :func:`_pretty` (other mappings, ``None``, other types)."""


_SCALAR_TYPES = (str, int, float, bool)


def _pretty_into(value: Any, depth: int, out: list[str]) -> None:
    """:func:`_pretty` for plain ``dict``/``list``/``tuple``/scalar trees, appending to ``out``: the same
    text, without building the location of every member (only an error message needs it)."""
    kind = type(value)
    if kind is str:
        out.append(quote_string(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        pad = "\n" + "  " * (depth + 1)
        sep = "{" + pad
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            out.append(sep)
            out.append(quote_string(key))
            out.append(": ")
            _pretty_into(item, depth + 1, out)
            sep = "," + pad
        out.append("\n" + "  " * depth + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        if kind is tuple and all(type(item) in _SCALAR_TYPES for item in value):
            out.append("[" + ", ".join(_scalar(item, "") for item in value) + "]")  # type: ignore[misc]
            return
        pad = "\n" + "  " * (depth + 1)
        sep = "[" + pad
        for item in value:
            out.append(sep)
            _pretty_into(item, depth + 1, out)
            sep = "," + pad
        out.append("\n" + "  " * depth + "]")
    elif kind is bool:
        out.append("true" if value else "false")
    elif kind is int or kind is float:
        out.append(format_number(value))
    else:
        raise _Unusual


def pretty(value: Any) -> str:
    """JSON laid out as ``jsonlite::toJSON(value, auto_unbox = TRUE, pretty = TRUE)`` (section 1.1.9).

    Two-space indent, ``"key": value`` members one per line, ``{}``/``[]`` for empty containers.
    A ``tuple`` of scalars (an R atomic vector) prints inline as ``["a", "b"]``; a ``list`` (an R list,
    e.g. anything parsed back from JSON) and any array holding containers prints one element per line.
    Scalars follow the :func:`canonical` rules. No trailing newline: callers add one for git and
    local files, none for S3 objects.
    """
    out: list[str] = []
    try:
        _pretty_into(value, 0, out)
    except _Unusual:  # other mappings, or a value that cannot be written: the general path (and its errors)
        return _pretty(value, 0, "$")
    return "".join(out)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON literal {name} (jsonlite writes non-finite numbers as strings)")


def parse(text: str | bytes, *, null_as_empty_object: bool = False) -> Any:
    """Parse JSON text the way R's ``jsonlite::fromJSON(simplifyVector = FALSE)`` sees it.

    Objects become ``dict`` (member order kept), arrays become ``list``, numbers without fraction or
    exponent become ``int`` and the rest ``float``; :func:`format_number` then re-serialises each of
    them exactly as R would after its own parse (an ``int`` beyond +-2147483647 is a double in R and is
    formatted as one). ``NaN``/``Infinity`` literals are rejected.

    ``null`` becomes ``None`` by default (which :func:`canonical` refuses). With
    ``null_as_empty_object=True`` it becomes ``{}``, which is what R re-serialises a parsed ``null``
    as; use that to recompute the hash R computes for a file that contains ``null`` (R bug 14).
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8-sig")
    elif text.startswith("\ufeff"):
        text = text[1:]
    value = json.loads(text, parse_constant=_reject_constant)
    if null_as_empty_object:
        value = _nulls_to_objects(value)
    return value


def _nulls_to_objects(value: Any) -> Any:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {key: _nulls_to_objects(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nulls_to_objects(item) for item in value]
    return value
