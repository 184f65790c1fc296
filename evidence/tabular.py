"""Reading tables from files: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030), XLSX, JSON and YAML.

Every row keeps where it came from (file and line, or sheet and row) so that a bad value is
reported as ``hr.csv:17: 列 入职日期: …``. Reading is lazy: a folder of large exports streams.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dualduty.errors import UserError
from dualduty.problems import Location, Problem

SUPPORTED = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".json", ".jsonl", ".yaml", ".yml"}
# Tried in order. GB18030 is a superset of GBK and GB2312, so it reads every "GBK" export.
ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
class Row:
    """One record read from a file: header -> raw value, plus its location."""

    values: dict[str, Any]
    location: Location
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    path: Path
    columns: list[str]
    rows: list[Row]
    encoding: str | None = None


def detect_encoding(data: bytes, path: Path) -> str:
    for encoding in ENCODINGS:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise UserError(
        [
            Problem(
                message="文件编码无法识别 / cannot decode the file as UTF-8 or GBK/GB18030",
                location=Location(file=str(path)),
                hint="save it as UTF-8 (Excel: 另存为 → CSV UTF-8)",
            )
        ]
    )


def read_table(path: Path, *, sheet: str | None = None, encoding: str | None = None) -> Table:
    """Read one file into a Table. Raises UserError with the file's location on failure."""
    if not path.exists():
        raise UserError(
            [Problem(message="文件不存在 / file not found", location=Location(file=str(path)))]
        )
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise UserError(
            [
                Problem(
                    message=f"不支持的文件类型 / unsupported file type {suffix!r}",
                    location=Location(file=str(path)),
                    hint="use " + ", ".join(sorted(SUPPORTED)),
                )
            ]
        )
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(path, sheet)
    data = path.read_bytes()
    if not data.strip():
        raise UserError(
            [Problem(message="文件为空 / the file is empty", location=Location(file=str(path)))]
        )
    chosen = encoding or detect_encoding(data, path)
    text = data.decode(chosen)
    if suffix in {".json", ".jsonl"}:
        return _read_json(path, text, jsonl=suffix == ".jsonl", encoding=chosen)
    if suffix in {".yaml", ".yml"}:
        return _read_yaml(path, text, encoding=chosen)
    return _read_csv(path, text, delimiter="\t" if suffix == ".tsv" else None, encoding=chosen)


def _read_csv(path: Path, text: str, *, delimiter: str | None, encoding: str) -> Table:
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",\t;|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[Row] = []
    problems: list[Problem] = []
    for record in reader:
        line = reader.line_num
        if header is None:
            if not any(cell.strip() for cell in record):
                continue
            header = [cell.strip() for cell in record]
            duplicates = {c for c in header if c and header.count(c) > 1}
            if duplicates:
                problems.append(
                    Problem(
                        message=f"表头重复 / duplicate columns: {', '.join(sorted(duplicates))}",
                        location=Location(file=str(path), line=line),
                    )
                )
            continue
        if not any(cell.strip() for cell in record):
            continue  # blank lines between records are common in hand-edited exports
        location = Location(file=str(path), line=line)
        values = {name: cell for name, cell in zip(header, record, strict=False) if name}
        extra: dict[str, Any] = {}
        if len(record) > len(header):
            extra = {f"#{i + 1}": v for i, v in enumerate(record) if i >= len(header) and v.strip()}
        if len(record) < len(header):
            for name in header[len(record) :]:
                values.setdefault(name, "")
        rows.append(Row(values=values, location=location, extra=extra))
    if header is None:
        raise UserError(
            [Problem(message="没有表头 / no header row", location=Location(file=str(path)))]
        )
    if problems:
        raise UserError(problems)
    return Table(path=path, columns=header, rows=rows, encoding=encoding)


def _read_xlsx(path: Path, sheet: str | None) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise UserError(
            [
                Problem(
                    message=f"无法读取 Excel 文件 / cannot read workbook: {error}",
                    location=Location(file=str(path)),
                )
            ]
        ) from None
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise UserError(
                [
                    Problem(
                        message=f"工作表不存在 / no sheet {sheet!r}",
                        location=Location(file=str(path)),
                        hint="sheets: " + ", ".join(workbook.sheetnames),
                    )
                ]
            )
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        header: list[str] | None = None
        rows: list[Row] = []
        for index, record in enumerate(worksheet.iter_rows(values_only=True), start=1):
            cells = ["" if c is None else c for c in record]
            if header is None:
                if not any(str(c).strip() for c in cells):
                    continue
                header = [str(c).strip() for c in cells]
                continue
            if not any(str(c).strip() for c in cells):
                continue
            location = Location(file=f"{path}[{worksheet.title}]", line=index)
            values = {name: cell for name, cell in zip(header, cells, strict=False) if name}
            rows.append(Row(values=values, location=location))
    finally:
        workbook.close()
    if header is None:
        raise UserError(
            [Problem(message="工作表为空 / the sheet is empty", location=Location(file=str(path)))]
        )
    return Table(path=path, columns=header, rows=rows)


def _records_to_table(path: Path, records: Any, encoding: str, lines: list[int] | None) -> Table:
    if isinstance(records, dict):
        # {"records": [...]} or {"data": [...]}: take the single list value.
        lists = [v for v in records.values() if isinstance(v, list)]
        if len(lists) == 1:
            records = lists[0]
    if not isinstance(records, list):
        raise UserError(
            [
                Problem(
                    message="应为记录列表 / expected a list of records",
                    location=Location(file=str(path)),
                )
            ]
        )
    columns: list[str] = []
    rows: list[Row] = []
    problems: list[Problem] = []
    for index, record in enumerate(records):
        line = lines[index] if lines else None
        location = (
            Location(file=str(path), line=line) if line else Location(file=f"{path}[{index}]")
        )
        if not isinstance(record, dict):
            problems.append(
                Problem(message="记录应为对象 / record is not an object", location=location)
            )
            continue
        for key in record:
            if key not in columns:
                columns.append(str(key))
        rows.append(Row(values={str(k): v for k, v in record.items()}, location=location))
    if problems:
        raise UserError(problems)
    return Table(path=path, columns=columns, rows=rows, encoding=encoding)


def _read_json(path: Path, text: str, *, jsonl: bool, encoding: str) -> Table:
    if jsonl:
        records: list[Any] = []
        lines: list[int] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise UserError(
                    [
                        Problem(
                            message=f"JSON 格式错误 / invalid JSON: {error.msg}",
                            location=Location(file=str(path), line=number, column=error.colno),
                        )
                    ]
                ) from None
            lines.append(number)
        return _records_to_table(path, records, encoding, lines)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(
            [
                Problem(
                    message=f"JSON 格式错误 / invalid JSON: {error.msg}",
                    location=Location(file=str(path), line=error.lineno, column=error.colno),
                )
            ]
        ) from None
    return _records_to_table(path, data, encoding, None)


def _read_yaml(path: Path, text: str, *, encoding: str) -> Table:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    yaml = YAML(typ="safe", pure=True)
    try:
        data = yaml.load(text)
    except MarkedYAMLError as error:
        raise UserError(
            [
                Problem(
                    message=f"YAML 格式错误 / invalid YAML: {error.problem}",
                    location=Location.at_mark(str(path), error.problem_mark),
                )
            ]
        ) from None
    return _records_to_table(path, data, encoding, None)


def iter_files(path: Path) -> Iterator[Path]:
    """A file, or every supported file in a folder (sorted, so runs are reproducible)."""
    if path.is_dir():
        for child in sorted(path.iterdir()):
            if (
                child.is_file()
                and child.suffix.lower() in SUPPORTED
                and not child.name.startswith((".", "~$"))
            ):
                yield child
    else:
        yield path
