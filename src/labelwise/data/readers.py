"""Low-level readers that yield (line number, record) pairs and turn encoding and syntax
problems into DataError naming the file and the line."""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from labelwise.errors import DataError


def open_binary(path: Path) -> io.BufferedIOBase:
    """Open a file for reading bytes, transparently decompressing ``.gz``."""
    if not path.exists():
        raise DataError("file not found.", path=str(path), fix="check the path (it is resolved from the current directory).")
    if path.is_dir():
        raise DataError("this is a folder, not a file.", path=str(path), fix="give the path of the data file.")
    try:
        return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    except OSError as error:
        raise DataError(f"cannot open the file ({error.strerror or error}).", path=str(path),
                        fix="check the file's permissions.") from None


def _read_error(path: Path, line: int, error: Exception) -> DataError:
    return DataError(
        f"cannot read the file ({type(error).__name__}: {error}).",
        path=str(path),
        line=line,
        fix="the file is truncated or corrupt (a .gz must be a complete gzip archive): re-create or re-download it.",
    )


def _decode_error(path: Path, line: int, encoding: str, error: UnicodeDecodeError) -> DataError:
    return DataError(
        f"cannot decode the file as {encoding} ({error.reason} at byte {error.start} of the line).",
        path=str(path),
        line=line,
        fix="re-save the file as UTF-8, or pass encoding='latin-1' (or the file's real encoding).",
    )


def _lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)``, decoding line by line so a bad byte is reported at
    its own line (a text wrapper decodes in chunks and loses that)."""
    number = 0
    with open_binary(path) as handle:
        try:
            for number, raw in enumerate(handle, 1):  # noqa: B007 (number is read after the loop)
                try:
                    text = raw.decode(encoding)
                except UnicodeDecodeError as error:
                    raise _decode_error(path, number, encoding, error) from None
                yield number, text.lstrip("\ufeff") if number == 1 else text
        except (OSError, EOFError) as error:  # a corrupt or truncated .gz; the consumer's errors never land here
            raise _read_error(path, number + 1, error) from None


def iter_jsonl(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line of a JSON Lines file."""
    for number, line in _lines(path, encoding):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(
                f"invalid JSON ({error.msg}, column {error.colno}).",
                path=str(path),
                line=number,
                fix="each line must be one complete JSON object.",
            ) from None
        if not isinstance(record, dict):
            raise DataError(
                f"expected a JSON object, found {type(record).__name__}.", path=str(path), line=number
            )
        yield number, record


def iter_json_array(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, dict]]:
    """Yield ``(item_number, object)`` for a JSON file holding a list of objects.

    Item numbers are 1-based positions in the list (JSON has no reliable line per item).
    """
    with open_binary(path) as handle:
        try:
            raw = handle.read()
        except (OSError, EOFError) as error:
            raise _read_error(path, 1, error) from None
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise _decode_error(path, raw[: error.start].count(b"\n") + 1, encoding, error) from None
    try:
        content = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as error:
        raise DataError(f"invalid JSON ({error.msg}).", path=str(path), line=error.lineno) from None
    if isinstance(content, dict) and "data" in content and isinstance(content["data"], list):
        content = content["data"]
    if not isinstance(content, list):
        raise DataError(
            "expected a JSON list of objects (or JSON Lines).",
            path=str(path),
            fix="write one object per row in a list, or use a .jsonl file.",
        )
    for number, record in enumerate(content, 1):
        if not isinstance(record, dict):
            raise DataError(f"item {number} is not a JSON object.", path=str(path))
        yield number, record


def iter_delimited(path: Path, delimiter: str, encoding: str = "utf-8") -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, row)`` for a CSV/TSV file with a header row.

    Fields of any size are read: the csv module's default cap of 128 KiB per field
    (a long document) is raised, process-wide, to the largest the platform allows.
    """
    _lift_field_size_limit()
    reader = csv.DictReader((text for _, text in _lines(path, encoding)), delimiter=delimiter)
    try:
        for row in reader:
            if None in row:
                raise DataError(
                    f"row has {len(reader.fieldnames or []) + len(row[None])} fields, the header has "
                    f"{len(reader.fieldnames or [])}.",
                    path=str(path),
                    line=reader.line_num,
                    fix="quote fields that contain the delimiter.",
                )
            yield reader.line_num, row
    except csv.Error as error:
        raise DataError(f"malformed CSV ({error}).", path=str(path), line=reader.line_num) from None


def _lift_field_size_limit() -> None:
    limit = sys.maxsize
    while csv.field_size_limit() < limit:
        try:
            csv.field_size_limit(limit)
        except OverflowError:  # a C long is 32 bits on Windows
            limit //= 2
        else:
            break


def iter_records(path: Path, encoding: str = "utf-8", delimiter: str | None = None) -> Iterator[tuple[int, dict]]:
    """Dispatch on the file suffix: .jsonl/.ndjson, .json, .csv, .tsv (each optionally .gz)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    kind = suffixes[-1] if suffixes else ""
    if kind in (".jsonl", ".ndjson"):
        return iter_jsonl(path, encoding)
    if kind == ".json":
        return iter_json_array(path, encoding)
    if kind in (".csv", ".tsv", ".txt") or delimiter is not None:
        return iter_delimited(path, delimiter or ("\t" if kind == ".tsv" else ","), encoding)
    raise DataError(
        f"unknown file type {kind or '(no suffix)'!r}.",
        path=str(path),
        fix="use .csv, .tsv, .json or .jsonl (optionally .gz), or pass delimiter=.",
    )
