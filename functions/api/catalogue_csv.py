"""Products and suppliers as CSV: the columns, a file read into checked rows, rows written.

CSV is a wire format of the API, like JSON: a cell is turned into the JSON value its field
takes (the field's type, read from the body model's JSON schema) and checked by the same
model as the JSON ``PUT`` body (``schemas.ProductIn``, ``schemas.SupplierIn``), so an
import and a ``PUT`` accept the same values. The rules of the file:

- UTF-8, an optional byte-order mark; commas, ``"`` quotes (RFC 4180), lines ended by
  ``\\n`` or ``\\r\\n``;
- the first row names the columns, in any order: the key (``sku``, ``id``) and any of the
  others; a column the file does not have keeps each record's stored value, an unknown
  column or one named twice is refused;
- a data row has exactly as many cells as the header; a row of empty cells is passed over;
- an empty cell is "not set" (the field's default); booleans are ``true``/``false`` (any
  case, as a spreadsheet may write them); buyer emails are separated by spaces or ``;``;
- a key appears once; a file has at most ``MAX_ROWS`` data rows.

Problems name the row as a spreadsheet numbers it (the header is row 1, the first data
row is row 2) and the column. Writing gives the same columns, booleans as ``true``/``false``,
nothing for "not set", emails separated by one space: what is written reads back as it was.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ValidationError

from backorders.domain import inputs
from schemas import ProductIn, SupplierIn

MAX_ROWS = 10_000  # the rows an import takes (docs/decisions.md 61: what they cost against the API's 30 s)
MAX_PROBLEMS = 100  # problems listed in one answer (all are counted)
_INTEGER = re.compile(r"-?[0-9]{1,18}")  # longer digit runs are left to the model to refuse
_NUMBER = re.compile(r"-?[0-9]{1,18}(\.[0-9]{1,18})?")
_EMAIL_SEPARATORS = re.compile(r"[\s;]+")


@dataclass(frozen=True, slots=True)
class Problem:
    row: int  # 1: the header
    column: str | None
    problem: str


class InvalidFile(Exception):
    """A file the import refuses, and why (``problems``: the first ``MAX_PROBLEMS``)."""

    def __init__(self, status: int, code: str, problems: list[Problem], count: int | None = None) -> None:
        super().__init__(problems[0].problem)
        self.status = status
        self.code = code
        self.problems = problems[:MAX_PROBLEMS]
        self.count = len(problems) if count is None else count


@dataclass(frozen=True, slots=True)
class Row:
    """A data row, checked: its key, its body (the model, defaults for empty cells) and the
    fields the file has columns for."""

    key: str
    body: BaseModel
    given: frozenset[str]


@dataclass(frozen=True)
class Sheet:
    """The CSV form of one body model: the key column, then the model's fields."""

    key: str
    model: type[BaseModel]

    @cached_property
    def columns(self) -> tuple[str, ...]:
        return (self.key, *self.model.model_fields)

    @cached_property
    def kinds(self) -> dict[str, str]:
        """Each field's JSON type as its schema says (``null`` aside): boolean, integer,
        number, array, or anything else, which a cell gives as its text."""
        kinds = {}
        for name, schema in self.model.model_json_schema()["properties"].items():
            types = {part.get("type") for part in schema.get("anyOf", [schema])} - {"null"}
            kinds[name] = next(iter(types)) if len(types) == 1 else "text"
        return kinds

    # -------------------------------------------------------------- reading
    def read(self, text: str) -> list[Row]:
        """The file's data rows, checked; :class:`InvalidFile` lists what is wrong."""
        records = _records(text.removeprefix("\ufeff"))
        if not records or not any(records[0]):
            raise InvalidFile(422, "invalid_file", [Problem(1, None, self._header_help("the file has no header row"))])
        header = records[0]
        self._check_header(header)
        rows = [(number, cells) for number, cells in enumerate(records[1:], start=2) if any(cells)]
        if len(rows) > MAX_ROWS:
            problem = f"the file has {len(rows):,} rows; an import takes at most {MAX_ROWS:,}: split it"
            raise InvalidFile(413, "too_large", [Problem(rows[MAX_ROWS][0], None, problem)])
        problems: list[Problem] = []
        first_rows: dict[str, int] = {}  # key -> the row it first appears in
        checked = [row for number, cells in rows if (row := self._row(number, header, cells, problems, first_rows))]
        if problems:
            raise InvalidFile(422, "invalid_rows", problems)
        return checked

    def _header_help(self, problem: str) -> str:
        return f"{problem}; the columns are {', '.join(self.columns)} (only {self.key} is required)"

    def _check_header(self, header: list[str]) -> None:
        problems = []
        for position, name in enumerate(header, start=1):
            if name not in self.columns:
                label = repr(name) if name else f"column {position} (no name)"
                problems.append(Problem(1, name or None, self._header_help(f"{label} is not a column")))
            elif header.index(name) < position - 1:
                problems.append(Problem(1, name, "is named twice"))
        if self.key not in header:
            problems.append(Problem(1, self.key, self._header_help(f"{self.key!r} is required")))
        if problems:
            raise InvalidFile(422, "invalid_header", problems)

    def _row(
        self, number: int, header: list[str], cells: list[str], problems: list[Problem], first_rows: dict[str, int]
    ) -> Row | None:
        if len(cells) != len(header):
            problems.append(Problem(number, None, f"has {len(cells)} cells; the header has {len(header)}"))
            return None
        given = dict(zip(header, cells, strict=True))
        key = given.pop(self.key)
        found = len(problems)
        try:
            key = inputs.identifier(key) if key else key
        except ValueError as exc:
            problems.append(Problem(number, self.key, str(exc)))
        else:
            if not key:
                problems.append(Problem(number, self.key, "is required"))
            elif key in first_rows:
                problems.append(Problem(number, self.key, f"{key!r} is also in row {first_rows[key]}"))
            else:
                first_rows[key] = number
        body = {name: self._value(name, cell) for name, cell in given.items() if cell != ""}
        try:
            model = self.model.model_validate(body)
        except ValidationError as exc:
            for error in exc.errors():
                column, *within = error["loc"] or (None,)
                where = f"address {within[0] + 1}: " if within and isinstance(within[0], int) else ""
                problems.append(Problem(number, None if column is None else str(column), where + error["msg"]))
            return None
        return None if len(problems) > found else Row(key, model, frozenset(given))

    def _value(self, name: str, cell: str) -> Any:
        """The JSON value a cell stands for, when it is one of its field's type; else the
        text, for the model to refuse in its own words."""
        kind = self.kinds[name]
        if kind == "boolean" and cell.lower() in ("true", "false"):
            return cell.lower() == "true"
        if kind == "integer" and _INTEGER.fullmatch(cell):
            return int(cell)
        if kind == "number" and _NUMBER.fullmatch(cell):
            return float(cell)
        if kind == "array":
            return [address for address in _EMAIL_SEPARATORS.split(cell) if address]
        return cell

    # -------------------------------------------------------------- writing
    def write(self, records: Iterable[Mapping[str, Any]]) -> str:
        """The CSV file of these records (JSON-shaped: keyed by column; other keys are left out)."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows({name: _cell(value) for name, value in record.items()} for record in records)
        return out.getvalue()


def _records(text: str) -> list[list[str]]:
    records: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records.extend(reader)
    except csv.Error as exc:
        problem = f"is not CSV: {exc} (line {reader.line_num} of the file)"
        raise InvalidFile(400, "malformed_csv", [Problem(len(records) + 1, None, problem)]) from None
    return records


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value)
    return str(value)


PRODUCTS = Sheet("sku", ProductIn)
SUPPLIERS = Sheet("id", SupplierIn)
