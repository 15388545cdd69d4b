"""Reading an uploaded CSV file as a stream of rows with their line numbers, and writing the
portal's own CSV files (templates, error reports) with formula injection made inert.

The file is UTF-8 (a byte order mark is allowed, as spreadsheets write one), separated by
commas or semicolons (what Excel writes where the decimal mark is a comma), with one header row
naming the columns. Whatever is wrong with the file as a whole is a :class:`FileProblem`;
whatever is wrong with one row is reported by the caller per cell."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from portal.bookkeeping.export import BOM, text

#: The longest cell read (a csv module limit; a longer one is a file problem at its line).
MAX_CELL = 10_000
DELIMITERS = (",", ";")


class FileProblem(ValueError):
    """The file cannot be read as a CSV of this kind; ``line`` where it showed (0: the file)."""

    def __init__(self, message: str, line: int = 0, column: str = "") -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Row:
    #: The physical line where the row starts (the header is line 1).
    line: int
    #: Column name → cell, stripped of surrounding spaces.
    cells: dict[str, str]


class ChunkReader(io.RawIOBase):
    """A readable binary stream over a sequence of byte strings fetched one at a time."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            piece = next(self._chunks, None)
            if piece is None:
                return 0
            self._buffer = piece
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def sniff_problem(head: bytes) -> str | None:
    """Why the file's first bytes show it is no CSV text (UTF-16, a spreadsheet, a binary)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "The file is UTF-16; save it as \"CSV UTF-8\"."
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return ("This is a spreadsheet (xlsx, xls or zip), not a CSV file; save it as "
                "\"CSV UTF-8\".")
    if head.startswith(b"%PDF") or head.count(b"\x00") > len(head) // 10:
        return "This is not a text file; upload a CSV file."
    return None


def _reject_other_encodings(head: bytes) -> None:
    problem = sniff_problem(head)
    if problem:
        raise FileProblem(problem, 1)


def _delimiter(header_line: str, known: Sequence[str]) -> str:
    """The delimiter that splits the header into names of this kind's columns."""
    best, hits = ",", -1
    for delimiter in DELIMITERS:
        names = [name.strip().lower() for name in header_line.split(delimiter)]
        found = sum(name in known for name in names)
        if found > hits:
            best, hits = delimiter, found
    if hits <= 0:
        if "\t" in header_line:
            raise FileProblem("The columns are separated by tabs; separate them by commas or "
                              "semicolons.", 1)
        raise FileProblem("The first line names none of this kind's columns: wrong kind of "
                          "batch, wrong delimiter (use a comma or a semicolon), or no header "
                          "row.", 1)
    return best


class CsvRows:
    """The rows of a CSV file read from ``stream``; iterate once. ``header`` is checked against
    ``known`` (every column allowed) and ``required`` before any row is read."""

    def __init__(self, stream: io.RawIOBase, known: Sequence[str], required: Iterable[str], *,
                 max_rows: int) -> None:
        self._binary = io.BufferedReader(stream, buffer_size=64 * 1024)
        _reject_other_encodings(self._binary.peek(2048)[:2048])
        self._max_rows = max_rows
        self._line = 1
        first = self._read_header_line()
        self.delimiter = _delimiter(first, known)
        header = next(csv.reader([first], delimiter=self.delimiter, strict=True), [])
        self.header = [name.strip().lower() for name in header]
        self._check_header(known, required)
        self._reader = csv.reader(self._lines(), delimiter=self.delimiter, strict=True)

    def _read_header_line(self) -> str:
        raw = self._binary.readline(MAX_CELL * 4)
        raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            first = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileProblem(f"The header is not UTF-8 ({_byte(exc)}); save the file as "
                              "\"CSV UTF-8\".", 1) from None
        if not first.strip():
            raise FileProblem("The file is empty: it needs a header row and at least one row.",
                              1)
        return first.rstrip("\r\n")

    def _check_header(self, known: Sequence[str], required: Iterable[str]) -> None:
        problems = []
        seen: set[str] = set()
        for name in self.header:
            if not name:
                problems.append(("", "A column has no name."))
            elif name not in known:
                problems.append((name, "Unknown column."))
            elif name in seen:
                problems.append((name, "This column appears twice."))
            seen.add(name)
        problems += [(name, "Missing required column.") for name in required
                     if name not in seen]
        if problems:
            raise HeaderProblems(problems)

    def _lines(self) -> Iterator[str]:
        while True:
            raw = self._binary.readline()
            if not raw:
                return
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FileProblem(f"Line {self._line + 1} is not UTF-8 ({_byte(exc)}); save the "
                                  "file as \"CSV UTF-8\".", self._line + 1) from None
            self._line += 1
            yield line

    def __iter__(self) -> Iterator[Row | RowProblem]:
        count = 0
        width = len(self.header)
        while True:
            start = self._line + 1
            try:
                cells = next(self._reader, None)
            except csv.Error as exc:
                raise FileProblem(f"Line {start} cannot be read as CSV: {exc}.", start) from None
            if cells is None:
                if count == 0:
                    raise FileProblem("The file has a header but no rows.", 1)
                return
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            count += 1
            if count > self._max_rows:
                raise FileProblem(f"Too many rows: a batch has at most {self._max_rows:,} rows; "
                                  "split the file.", start)
            if len(cells) != width:
                yield RowProblem(start, f"Expected {width} cells (one per column), found "
                                        f"{len(cells)}.")
                continue
            yield Row(start, {name: cell.strip() for name, cell in zip(self.header, cells,
                                                                         strict=True)})


@dataclass(frozen=True)
class RowProblem:
    """A row that cannot be split into the header's columns."""

    line: int
    reason: str


class HeaderProblems(FileProblem):
    """The header names unknown columns, lacks required ones, or repeats one."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("The header row is not right: " + "; ".join(
            f"{name or '(blank)'}: {reason}" for name, reason in problems), 1)
        self.problems = problems


def _byte(exc: UnicodeDecodeError) -> str:
    return f"byte 0x{exc.object[exc.start]:02x}" if exc.start < len(exc.object) else "a byte"


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: ``= + - @`` (and tab, CR) at the start get a quote."""
    return text("" if value is None else str(value))


def csv_document(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """A CSV file (UTF-8 with BOM, CRLF) piece by piece, every cell through :func:`safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def take() -> str:
        piece = out.getvalue()
        out.seek(0)
        out.truncate()
        return piece

    writer.writerow([safe_cell(name) for name in header])
    yield BOM + take()
    for number, row in enumerate(rows, 1):
        writer.writerow([safe_cell(cell) for cell in row])
        if number % 500 == 0:
            yield take()
    yield take()

