"""Generators of bad requests, for the generated bad-input test of the API
(tests/api/test_generated_bad_input.py).

They know nothing of particular routes: the test hands them a route's shape (its
path parameters and query parameters, as the app declares them) and one valid example
request, and they make it wrong in the ways a hostile or careless client would:

- text for identifiers: control and format characters, ``/ ? # %``, empty, very long,
  not NFC (and NFC forms longer than the text), emoji, noncharacters;
- path segments as they come on the wire, percent-encoded, and raw percent-sequences
  that decode to nothing valid (``%FF``, ``%ED%A0%80``, ``%``);
- JSON bodies mutated from the example: fields dropped, added, retyped, nested deep,
  repeated, written twice; numbers huge, negative, fractional, in exponent form,
  beyond what Python or DynamoDB can hold, NaN;
- CSV files mutated from the example: cells replaced, columns dropped, added, named
  twice or reordered, rows with a cell too few or too many, repeated, multiplied past a
  transaction's 100 items, blank rows, no header, other quoting and line ends;
- raw bodies: truncated JSON, not JSON, not UTF-8, a byte-order mark, odd
  Content-Types, base64 flags that lie, bodies over the size limit;
- query parameters the route does not declare and bad values for the ones it does;
- odd ``Idempotency-Key``, ``Accept`` and ``Authorization`` headers.
"""

from __future__ import annotations

import base64
import copy
import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

MAX_BODY_BYTES = 256 * 1024  # PRODUCT.md: "a body over 256 KB" is refused
MAX_CSV_BODY_BYTES = 5 * 1024 * 1024  # but the CSV imports take up to 5 MB (docs/decisions.md 62)

# ------------------------------------------------------------------ JSON as the client writes it


class Raw(str):
    """JSON text written verbatim: numbers Python cannot write (``1e400``, 5000 digits)
    or will not (``NaN``)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Pairs:
    """A JSON object written with exactly these ``(key, value)`` pairs: a key may come twice."""

    pairs: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Nested:
    """``value`` inside ``depth`` arrays, or objects ``{"a": ...}``."""

    value: Any
    depth: int
    objects: bool = False


def to_json(value: Any, *, ascii_only: bool = True) -> str:
    """JSON text of ``value`` (plain JSON values, :class:`Raw`, :class:`Pairs`, :class:`Nested`)."""

    def text(v: Any) -> str:
        if isinstance(v, Raw):
            return str(v)
        if isinstance(v, Nested):
            opening, closing = ('{"a": ', "}") if v.objects else ("[", "]")
            return opening * v.depth + text(v.value) + closing * v.depth
        if isinstance(v, Pairs | dict):
            pairs = v.pairs if isinstance(v, Pairs) else v.items()
            return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=ascii_only)}: {text(x)}" for k, x in pairs) + "}"
        if isinstance(v, list | tuple):
            return "[" + ", ".join(text(x) for x in v) + "]"
        return json.dumps(v, ensure_ascii=ascii_only)  # floats nan/inf come out as NaN/Infinity

    out = text(value)
    if not ascii_only:
        try:
            out.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate can only be written escaped
            return to_json(value, ascii_only=True)
    return out


# ------------------------------------------------------------------ text

# characters that break identifiers, URLs, JSON, NFC or DynamoDB keys
TRICKY_CHARACTERS = (
    "/?#%&=+;.,:@\\\"'<>`{}[]|^~ \t\n\r\x00\x01\x1b\x1f\x7f\x80\x85\x9f\xa0\xad"
    "\u0301\u0308\u034f\u0958\u1100\u1161\u115f\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u2028\u2029\u202a\u202e\u2060\u2066\u2069\u2126\u212b\u3000\ufb2c\ufeff\ufff9"
    "\ufffd\ufffe\uffff\U0001f600\U0001f3fd\U0001f44d\U000e0001\U000e007f\U0010ffff"
)

SPECIAL_TEXT = [
    "",
    " ",
    "   ",
    "\t",
    ".",
    "..",
    "%",
    "%25",
    "%2F",
    "null",
    "None",
    "undefined",
    "true",
    "0",
    "-1",
    "TEXTBOOK",
    "TEXTBOOK ",
    " TEXTBOOK",
    "textbook",
    "812",
    "812\x00",
    "812\u200b",
    "CAFE\u0301",  # not NFC: one id with CAFÉ
    "e\u0301" * 64,  # 128 characters, 64 after NFC
    "e\u0301" * 65,
    "\u0958" * 33,  # 33 characters, 66 after NFC
    "\ufb2c" * 22,  # 22 characters, 66 after NFC
    "\U0001f600" * 64,
    "\U0001f44d\U0001f3fd",
    "A/B",
    "A?B",
    "A#B",
    "A\u202eB",
    "A\x7fB",
    "pk#sk",
    "SKU#TEXTBOOK",
    "ORDER#812",
    "aacme#812",
    "X" * 64,
    "X" * 65,
    "X" * 1024,
    "X" * 10_240,
]

_any_character = st.characters(exclude_categories=["Cs"])  # every code point UTF-8 can carry
_characters = st.sampled_from(TRICKY_CHARACTERS) | _any_character

long_text = st.builds(
    lambda unit, times: unit * times,
    st.sampled_from(["X", "\u00e9", "e\u0301", "\u0958", "\U0001f600", "%", "\u200b", " "]),
    st.sampled_from([63, 64, 65, 66, 128, 1000, 10_000]),
)

#: identifiers the rule lets through, but odd ones: any script, symbols, spaces inside,
#: noncharacters, not NFC, and as long as allowed (bugs past the rule need valid ids)
_identifier_characters = st.characters(exclude_categories=["Cc", "Cf", "Cs"], exclude_characters="/?#")
odd_identifiers = st.text(_identifier_characters, min_size=1, max_size=64)
longest_identifiers = st.text(_identifier_characters, min_size=60, max_size=64)

#: any text a client can send in a URL, a header or a JSON string (no lone surrogates)
wild_text = st.one_of(
    st.sampled_from(SPECIAL_TEXT),
    st.text(_characters, max_size=70),
    st.text(max_size=30),
    long_text,
    st.builds(lambda a, b: a + b, st.sampled_from(SPECIAL_TEXT), st.text(_characters, min_size=1, max_size=5)),
    odd_identifiers,
    longest_identifiers,
)

#: text for JSON strings: also lone surrogates, which only JSON escapes can carry
json_text = wild_text | st.sampled_from(["\ud800", "\udfff", "A\ud83d", "\ude00B", "\ud83d\ude00"])

#: header values: anything but CR, LF and NUL (which no HTTP client can send)
header_text = st.one_of(
    st.sampled_from(["", " ", "x" * 128, "x" * 129, "x" * 10_000, "\u00e9", "\U0001f600", "key\tkey"]),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00"), max_size=70),
)

# ------------------------------------------------------------------ path segments (wire form)

# percent-sequences as a client may put them on the wire: invalid UTF-8 (overlong,
# surrogate, beyond U+10FFFF, truncated), stray %, encoded separators, double encoding
RAW_WIRE_SEGMENTS = [
    "%",
    "%%",
    "%Z",
    "%ZZ",
    "%2",
    "%00",
    "%FF",
    "%C3",
    "%C3%28",
    "%C0%AF",
    "%ED%A0%80",
    "%F4%90%80%80",
    "%E2%80%AE",
    "%EF%BB%BF",
    "%2F",
    "%2f",
    "A%2FB",
    "%3F",
    "A%3FB=C",
    "A?B=C",
    "%23",
    "%252F",
    "..%2F..",
    "%2E%2E",
    "a%20b",
    "+",
    "a+b",
    "%u0041",
    "%0A",
    "%0D%0A",
]


def wire_segment(text: str) -> str:
    """``text`` as a client sends it in a URL path: every character percent-encoded."""
    return quote(text, safe="")


identifier_segments = st.one_of(
    wild_text.map(wire_segment),
    odd_identifiers.map(wire_segment),
    longest_identifiers.map(wire_segment),
    st.sampled_from(RAW_WIRE_SEGMENTS),
)

NUMBER_TEXT = [
    "0",
    "-0",
    "-1",
    "+1",
    " 1",
    "1 ",
    "01",
    "0001",
    "1.0",
    "1.5",
    "1e0",
    "1e3",
    "1E2",
    "0x1",
    "0b1",
    "1_0",
    "\u0663",  # ARABIC-INDIC DIGIT THREE
    "\uff11",  # FULLWIDTH DIGIT ONE
    "\u00b2",  # SUPERSCRIPT TWO
    "9998",
    "9999",
    "10000",
    "2147483648",
    "9223372036854775808",
    "-9223372036854775809",
    "1" * 4301,  # beyond Python's default limit for int(text)
    "NaN",
    "inf",
    "-Infinity",
    "true",
    "null",
    "",
]

#: numbers as text, for path segments and query values
number_text = st.one_of(st.sampled_from(NUMBER_TEXT), st.integers().map(str), st.integers(-20_000, 20_000).map(str))
number_segments = number_text.map(wire_segment) | identifier_segments

# ------------------------------------------------------------------ JSON values

RAW_NUMBERS = [
    "1e400",
    "-1e400",
    "1E-400",
    "-0",
    "-0.0",
    "0.000000",
    "1.5",
    "2.0",
    "1e2",
    "1E+2",
    "1e9",
    "1e-4",
    "1e-5",
    "0.99999",
    "0.00001",
    "999999999.9999",
    "999999999.99995",
    "1e999999999",
    "1e-999999999",
    "1E+999999999999999999",
    "1" + "0" * 4400,  # more digits than Python reads as an int by default
    "0." + "0" * 4400 + "1",
    "123456789012345678901234567890123456789.5",
    "NaN",
    "Infinity",
    "-Infinity",
]

BOUNDARY_INTEGERS = [
    0,
    -1,
    1,
    9998,
    9999,
    10_000,
    -9999,
    -10_000,
    365,
    366,
    3650,
    3651,
    5000,
    5001,
    10**9 - 1,
    10**9,
    -(10**9) + 1,
    -(10**9),
    2**31,
    2**53 + 1,
    2**63,
    2**64,
    10**38,
    10**38 + 1,
    10**126,
    10**200,
]

TIME_TEXT = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999999Z",
    "1999-12-31T23:59:59Z",
    "1999-12-31T23:59:59-01:00",  # 2000-01-01 in UTC
    "2000-01-01T00:00:00+00:01",  # 1999 in UTC
    "2026-11-22T10:00:00Z",
    "2026-11-22T10:00:00z",
    "2026-11-22T10:00:00",
    "2026-11-22",
    "2026-11-22T24:00:00Z",
    "2026-02-30T10:00:00Z",
    "2026-11-22T10:00:60Z",
    "2026-11-22T10:00:00+24:00",
    "2026-11-22T10:00:00+23:59:59.999999",
    "2026-11-22T10:00:00.1234567890Z",
    "2026-11-22T10:00:00+0100",
    "2026-11-22 10:00:00+01:00",
    "2026-11-22T10:00:00UTC",
    "2026-W47-7T10:00:00Z",
    "2026-326T10:00:00Z",
    "20261122T100000Z",
    "+2026-11-22T10:00:00Z",
    "T10:00:00Z",
    "1700000000",
    "2100-01-01T00:00:00Z",
]

_offsets = st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59)).map(
    timezone
)
times = st.one_of(
    st.sampled_from(TIME_TEXT),
    st.datetimes(timezones=st.none() | _offsets).map(datetime.isoformat),
    st.datetimes(min_value=datetime(1999, 12, 30), max_value=datetime(2026, 12, 31), timezones=_offsets).map(
        datetime.isoformat
    ),
)

numbers = st.one_of(
    st.sampled_from(BOUNDARY_INTEGERS),
    st.integers(),
    st.floats(),  # nan and inf are written NaN and Infinity
    st.sampled_from(RAW_NUMBERS).map(Raw),
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    json_text,
    times,
    st.sampled_from(["1e200", "NaN", "Infinity", "-0", "0.1", "12.50", "1,5", "0x10", "1_000", "\u0661\u0662"]),
)

#: any JSON value, small
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_text, inner, max_size=4),
    max_leaves=8,
)

# ------------------------------------------------------------------ mutations of a JSON body

Path = tuple[str | int, ...]


def places(tree: Any, at: Path = ()) -> Iterator[Path]:
    """Every position in a JSON tree, the root first."""
    yield at
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from places(value, (*at, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from places(value, (*at, index))


def _get(tree: Any, at: Path) -> Any:
    for step in at:
        tree = tree[step]
    return tree


def _put(tree: Any, at: Path, value: Any) -> Any:
    if not at:
        return value
    _get(tree, at[:-1])[at[-1]] = value
    return tree


def _drop(tree: Any, at: Path) -> Any:
    del _get(tree, at[:-1])[at[-1]]
    return tree


@st.composite
def mutated_json(draw: st.DrawFn, example: Any, field_names: Sequence[str]) -> Any:
    """The example body with one to three mutations: a field dropped, added (a known
    name of another body, a near miss, or any text), given another value or type,
    nested deep, a list element repeated, or a key written twice."""
    tree = copy.deepcopy(example)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.sampled_from(list(places(tree))))
        here = _get(tree, at)
        kinds = ["replace", "retype", "nest"]
        if at:
            kinds.append("drop")
        if isinstance(here, dict):
            kinds.append("add")
            if here:
                kinds.append("twice")
        if isinstance(here, list) and here:
            kinds.append("repeat")
        kind = draw(st.sampled_from(kinds), label="mutation")
        if kind == "drop":
            tree = _drop(tree, at)
        elif kind == "replace":
            tree = _put(tree, at, draw(json_values))
        elif kind == "retype":
            retyped = [str(here), [here], {"value": here}, None, True]
            if isinstance(here, int | float) and not isinstance(here, bool):
                retyped += [-here, here * 10**12, here + 0.5, Raw(f"{here}e400"), Raw(f"{here}.0")]
            tree = _put(tree, at, draw(st.sampled_from(retyped)))
        elif kind == "nest":
            depth = draw(st.sampled_from([1, 2, 31, 32, 33, 64, 1000, 100_000]))
            tree = _put(tree, at, Nested(here, depth, objects=draw(st.booleans())))
        elif kind == "add":
            near_misses = [name.upper() for name in field_names] + [f"{name} " for name in field_names]
            name = draw(st.sampled_from([*field_names, *near_misses, "", "__proto__", "$type"]) | json_text)
            here[name] = draw(json_values)
        elif kind == "twice":
            name = draw(st.sampled_from(sorted(here)))
            again = draw(st.just(here[name]) | json_values)
            tree = _put(tree, at, Pairs((*here.items(), (name, again))))
        elif kind == "repeat":  # up to about twice the size limit: the body is built in memory
            index = draw(st.integers(0, len(here) - 1))
            size = len(to_json(here[index])) + 2
            times = [n for n in (1, 2, 99, 100, 101, 1000, 3000) if n < 3 or n * size <= 2 * MAX_BODY_BYTES]
            here[index + 1 : index + 1] = [here[index]] * draw(st.sampled_from(times))
    return tree


# ------------------------------------------------------------------ mutations of a CSV file

CELL_TEXT = [
    "true", "TRUE", "True", "false", "yes", "1", "0", "-1", "1.0", "1,0", "", " ", "null", "12.50", "12,50", "1e400",
    "NaN", "=SUM(A1)", '"', '""', "a@b c@d", "a@b;;c@d", " ; ", "a;b@c", "2030-01-06", "06/01/2030", "\ufeff",
    ";".join(f"buyer{n}@example.com" for n in range(21)),
]  # fmt: skip
csv_cells = st.one_of(st.sampled_from(CELL_TEXT), wild_text, number_text, times)


def _csv_text(rows: Sequence[Sequence[str]], *, quoting: int = csv.QUOTE_MINIMAL, line_end: str = "\n") -> str:
    out = io.StringIO()
    csv.writer(out, quoting=quoting, lineterminator=line_end).writerows(rows)
    return out.getvalue()


@st.composite
def mutated_csv(draw: st.DrawFn, example: str, column_names: Sequence[str]) -> str:
    """The example file with one to three mutations: a cell replaced, a column dropped,
    added (a known name, a near miss, any text) or moved, a row given a cell too few or
    too many, repeated as it is or with new keys (up to 250 rows: more than two
    transactions), blank rows, the header left out; then written with any quoting and
    line ends."""
    rows = [list(row) for row in csv.reader(io.StringIO(example, newline=""))]
    for _ in range(draw(st.integers(1, 3))):
        kinds = ["cell", "cell", "add_column", "blank_rows", "repeat_row", "many_rows"]
        if rows and rows[0]:
            kinds += ["drop_column", "move_column", "cells_count", "no_header"]
        kind = draw(st.sampled_from(kinds), label="mutation")
        width = len(rows[0]) if rows else 0
        if kind == "cell" and rows and width:
            row, column = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, width - 1))
            rows[row][column : column + 1] = [draw(csv_cells)]
        elif kind == "drop_column":
            column = draw(st.integers(0, width - 1))
            rows = [row[:column] + row[column + 1 :] for row in rows]
        elif kind == "move_column":
            order = draw(st.permutations(range(width)))
            rows = [[row[i] for i in order if i < len(row)] for row in rows]
        elif kind == "add_column":
            near_misses = [name.upper() for name in column_names] + [f" {name}" for name in column_names]
            name = draw(st.sampled_from([*column_names, *near_misses, ""]) | wild_text)
            cell = draw(csv_cells)
            rows = [[*row, name if number == 0 else cell] for number, row in enumerate(rows)]
        elif kind == "cells_count" and len(rows) > 1:
            row = draw(st.integers(1, len(rows) - 1))
            rows[row] = rows[row][:-1] if draw(st.booleans()) else [*rows[row], draw(csv_cells)]
        elif kind == "repeat_row" and len(rows) > 1:
            row = draw(st.integers(1, len(rows) - 1))
            rows.insert(row, list(rows[row]))
        elif kind == "many_rows" and len(rows) > 1:
            key = draw(st.sampled_from([0, 0, *range(width)]))  # new keys if 0 is the key column, else duplicates
            template = rows[1]
            times = draw(st.sampled_from([99, 100, 101, 250]))
            rows += [[f"{cell}-{n}" if i == key else cell for i, cell in enumerate(template)] for n in range(times)]
        elif kind == "blank_rows":
            at = draw(st.integers(0, len(rows)))
            rows[at:at] = [[]] * draw(st.integers(1, 3)) if draw(st.booleans()) else [[""] * width]
        elif kind == "no_header" and rows:
            rows = rows[1:]
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    return _csv_text(rows, quoting=quoting, line_end=draw(st.sampled_from(["\n", "\r\n", "\r"])))


@st.composite
def oversized_csv(draw: st.DrawFn, example: str) -> str:
    """The example file with its last cell grown to about the CSV size limit: one byte
    under, at, one over, or twice."""
    size = draw(st.sampled_from([MAX_CSV_BODY_BYTES - 1, MAX_CSV_BODY_BYTES, MAX_CSV_BODY_BYTES + 1]))
    size = draw(st.sampled_from([size, size, 2 * MAX_CSV_BODY_BYTES]))
    body = example.rstrip("\r\n")
    return body + draw(st.sampled_from(["x", " "])) * max(size - len(body.encode()) - 1, 0) + "\n"


# ------------------------------------------------------------------ raw bodies

JUNK_BODIES = [
    "",
    " ",
    "\n",
    "null",
    "true",
    "0",
    "-1",
    '"text"',
    "[]",
    "{}",
    "[{}]",
    '{"": 1}',
    "NaN",
    "-Infinity",
    "{'id': '812'}",
    "{id: 812}",
    '{"a": 1,}',
    "[1,]",
    '"\\ud800"',
    '{"id": "\\u0000"}',
    '{"id": "\\ud800"}',
    "01",
    "1e999999",
    '{"a": 1e400}',
    '{"a": ' + "1" * 5000 + "}",
    "\ufeff{}",
    "{}\x00",
    "\u00a0{}",
    "{\u2028}",
    "[" * 100_000,
    "{" * 100_000,
    '{"a":' * 50_000 + "1" + "}" * 50_000,
]

CONTENT_TYPES = [
    None,
    "",
    "application/json",
    "APPLICATION/JSON",
    "Application/Json; Charset=UTF-8",
    "application/json; charset=utf-8",
    'application/json;charset="utf-8"',
    "application/json; charset=latin-1",
    "application/json; charset=utf-16",
    "application/json; charset=",
    "application/json; charset",
    "application/json; boundary=x",
    "application/json;;",
    "application/json; charset=utf-8; charset=latin-1",
    "application/json, text/plain",
    " application/json ",
    "application/jsonp",
    "application/vnd.api+json",
    "application/problem+json",
    "text/json",
    "text/plain",
    "text/plain; charset=utf-8",
    "text/csv",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=----x",
    "application/xml",
    "application/javascript",
    "application/octet-stream",
    "*/*",
    ";",
    "=;=",
]

content_types = st.sampled_from(CONTENT_TYPES) | header_text


@st.composite
def raw_texts(draw: st.DrawFn, valid: str) -> str:
    """Body text that is not the JSON the route reads: cut short, with junk around it,
    with a byte-order mark, written in Python's syntax, or anything at all."""
    return draw(
        st.one_of(
            st.integers(0, max(len(valid) - 1, 0)).map(lambda cut: valid[:cut]),
            st.sampled_from([" x", "}", ",", "\x00", "\n{}", "]"]).map(lambda junk: valid + junk),
            st.sampled_from(["\ufeff", "\u00a0", "\u2028", "x"]).map(lambda lead: lead + valid),
            st.just(valid.replace("true", "True").replace("false", "False").replace("null", "None")),
            st.just(valid.replace('"', "'")),
            st.sampled_from(JUNK_BODIES),
            st.text(max_size=100),
        )
    )


@st.composite
def raw_bytes(draw: st.DrawFn, valid: str) -> bytes:
    """Body bytes that are not UTF-8 JSON: random bytes, the example in another encoding,
    the example with a byte that is not UTF-8 in it, or behind a UTF-8 byte-order mark."""
    utf8 = valid.encode("utf-8")
    bad = st.sampled_from([b"\xff", b"\xfe", b"\x80", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])
    return draw(
        st.one_of(
            st.binary(max_size=200),
            st.sampled_from(["utf-16", "utf-16-le", "utf-32", "cp1252", "latin-1"]).map(
                lambda codec: valid.replace("\u00e9", "e").encode(codec, errors="replace")
            ),
            st.tuples(st.integers(0, len(utf8)), bad).map(lambda cut: utf8[: cut[0]] + cut[1] + utf8[cut[0] :]),
            st.just(b"\xef\xbb\xbf" + utf8),
        )
    )


@st.composite
def oversized_texts(draw: st.DrawFn, example: Any) -> str:
    """The example padded with white space, or with one string field grown, to about
    the size limit: one byte under, at, one over, or twice."""
    size = draw(st.sampled_from([MAX_BODY_BYTES - 1, MAX_BODY_BYTES, MAX_BODY_BYTES + 1, 2 * MAX_BODY_BYTES]))
    valid = to_json(example)
    strings = [at for at in places(example) if isinstance(_get(example, at), str)]
    if strings and draw(st.booleans()):
        tree = copy.deepcopy(example)
        at = draw(st.sampled_from(strings))
        grown = _put(tree, at, _get(tree, at) + "x" * max(size - len(valid), 0))
        return to_json(grown)
    return valid + " " * max(size - len(valid), 0)


def as_aws_sends(data: bytes, content_type: str | None) -> tuple[str, bool]:
    """``(body, isBase64Encoded)`` as an HTTP API hands a body to the function: text for
    ``text/*``, JSON, XML and JavaScript, base64 for anything else (and, as the local
    cloud chose, for text types that are not UTF-8)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media.startswith("text/") or media in ("application/json", "application/xml", "application/javascript"):
        try:
            return data.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(data).decode("ascii"), True


@st.composite
def lying_encodings(draw: st.DrawFn, data: bytes) -> tuple[str, bool | None]:
    """``(body, isBase64Encoded)`` that do not agree: base64 claimed for text that is
    not base64, base64 sent but not claimed, padding dropped, the URL-safe alphabet,
    line breaks, or no flag at all."""
    encoded = base64.b64encode(data).decode("ascii")
    text = data.decode("utf-8", errors="replace")
    return draw(
        st.sampled_from(
            [
                (text, True),
                (encoded, False),
                (encoded.rstrip("="), True),
                (base64.urlsafe_b64encode(data).decode("ascii"), True),
                ("\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)), True),
                (encoded + "====", True),
                ("", True),
                ("!!!!", True),
                (text, None),
                (encoded, None),
            ]
        )
    )


# ------------------------------------------------------------------ the request


@dataclass(frozen=True, slots=True)
class BadRequest:
    """One request as API Gateway hands it to the function.

    ``path`` is the wire path (percent-encoded); ``authorization`` may name a shop's
    key as ``<key:shop>``; ``content_type`` None leaves the header out; ``body`` and
    ``base64`` are the event's ``body`` and ``isBase64Encoded`` (None: left out)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    authorization: str | None = None
    content_type: str | None = "application/json"
    body: str | None = None
    base64: bool | None = False
    spoiled: tuple[str, ...] = field(default=())  # what was made bad, for the report

    def __repr__(self) -> str:
        def short(value: Any) -> str:
            text = repr(value)
            return text if len(text) <= 300 else f"{text[:150]}...{text[-100:]} ({len(value)} characters)"

        parts = [repr(self.method), short(self.path)]
        if self.query:
            parts.append(f"query={short(self.query)}")
        if self.headers:
            parts.append(f"headers={short(self.headers)}")
        parts.append(f"authorization={self.authorization!r}")
        parts.append(f"content_type={short(self.content_type)}")
        parts.append(f"body={short(self.body)}")
        parts.append(f"base64={self.base64!r}")
        parts.append(f"spoiled={self.spoiled!r}")
        return f"BadRequest({', '.join(parts)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis prints with this
        printer.text(repr(self))
