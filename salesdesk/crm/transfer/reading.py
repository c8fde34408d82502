"""Turn uploaded bytes into a header and rows: encoding, delimiter, blank lines, line numbers."""

import codecs
import csv
import io
import re
from dataclasses import dataclass, field

from salesdesk.core.errors import ValidationFailed

MAX_BYTES = 50 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# Control characters that never occur in text exports (tab, line breaks, vertical tab, form
# feed and escape do: spreadsheets write \x0b for a line break inside a cell).
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_LOOKS_LIKE_DATA = re.compile(
    r"^(?:[^@\s]+@[^@\s]+\.\w+|[-+]?[\d.,' ]+|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}.*)$"
)
# Spreadsheets run a cell starting with one of these as a formula; our export prefixes such
# cells with a quote, and reading it back takes the quote off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple[int, list[str]]]  # (1-based line number in the file, one value a column)
    encoding: str
    delimiter: str
    warnings: list[str] = field(default_factory=list)
    row_errors: dict[int, str] = field(default_factory=dict)  # line → why it cannot be read


def decode(data: bytes) -> tuple[str, str, list[str]]:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 with a warning."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed(
            f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into smaller files."
        )
    warnings = []
    if data.startswith(codecs.BOM_UTF8):
        try:
            text, encoding = data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            raise ValidationFailed("The file claims to be UTF-8 but is not.") from None
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text, encoding = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise ValidationFailed("The file claims to be UTF-16 but is not.") from None
    elif b"\x00" in data:
        raise _binary()
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            try:
                text, encoding = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                raise _binary() from None
            warnings.append(
                "The file is not UTF-8; it was read as Windows-1252 (Western European). "
                "Check accented letters, or save the file as UTF-8 and import it again."
            )
    if _BINARY.search(text):
        raise _binary()
    if not text.strip():
        raise ValidationFailed("The file is empty.")
    return text, encoding, warnings


def _binary() -> ValidationFailed:
    return ValidationFailed(
        "This is not a CSV text file (it contains binary data). "
        "Export the data as CSV (comma- or semicolon-separated values) and try again."
    )


_EXCEL_SEPARATOR = re.compile(r"^sep=(.)\r?\n", re.IGNORECASE)


def sniff_delimiter(text: str) -> str:
    """The candidate that splits the header into the most columns; a comma on a tie."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: counts[d])  # max() keeps the first of equal counts


def _clean(cell: str) -> str:
    cell = cell.strip()
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_STARTS:
        return cell[1:].strip()
    return cell


def read_table(data: bytes) -> Table:
    text, encoding, warnings = decode(data)
    next_line = 1
    # Excel writes (and reads) a first line "sep=;" naming the delimiter.
    if (hint := _EXCEL_SEPARATOR.match(text)) and hint[1] in DELIMITERS:
        text, next_line, delimiter = text[hint.end() :], 2, hint[1]
    else:
        delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    row_errors: dict[int, str] = {}
    first_line = next_line
    try:
        for cells in reader:
            line, next_line = next_line, first_line + reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns = _header(cells)
                continue
            values = [_clean(cell) for cell in cells]
            if len(values) > len(columns):
                if any(values[len(columns) :]):
                    row_errors[line] = (
                        f"The line has {len(values)} values but the header has {len(columns)} "
                        "columns; a value probably contains an unquoted "
                        f"{DELIMITER_NAMES[delimiter]}."
                    )
                values = values[: len(columns)]
            values += [""] * (len(columns) - len(values))
            rows.append((line, values))
    except csv.Error as exc:
        raise ValidationFailed(f"Line {next_line} is not valid CSV: {exc}.") from None
    if columns is None:
        raise ValidationFailed("The file is empty.")
    if not rows:
        raise ValidationFailed("The file has a header but no rows.")
    return Table(columns, rows, encoding, delimiter, warnings, row_errors)


def _header(cells: list[str]) -> list[str]:
    columns = [cell.strip().lstrip("\ufeff").strip() for cell in cells]
    data_like = [name for name in columns if name and _LOOKS_LIKE_DATA.match(name)]
    if data_like or not any(columns):
        raise ValidationFailed(
            "The first line must be a header naming the columns (such as Name, Email), "
            f"but it looks like data: {', '.join(data_like[:3]) or 'empty names'}. "
            "Add a header line and import again."
        )
    seen: dict[str, int] = {}
    for position, name in enumerate(columns, start=1):
        if not name:
            continue
        key = name.casefold()
        if key in seen:
            raise ValidationFailed(
                f"The header names the column {name!r} twice (columns {seen[key]} and "
                f"{position}); rename one of them."
            )
        seen[key] = position
    return columns
