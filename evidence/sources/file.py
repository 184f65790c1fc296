"""Files exported from other systems: CSV, XLSX or JSON, one file or a folder of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from dualduty.errors import UserError
from dualduty.problems import Location, Problem
from evidence.sources.base import BaseSource, FetchContext, RawRecord
from evidence.tabular import iter_files, read_table


class FileSource(BaseSource):
    """A file, or every CSV/XLSX/JSON file in a folder (read in name order).

    Encoding (UTF-8, UTF-8 with BOM, GBK/GB18030) is detected; a relative path is taken from
    the rule pack's folder.

    ```yaml
    source:
      kind: file
      path: data/meetings/          # or data/meetings.csv; shorthand: {file: data/meetings.csv}
      map: {unit: 单位编码, kind: 会议类型, held_on: 召开日期}
      on_error: skip
    ```
    """

    kind: Literal["file"] = "file"
    path: Path
    sheet: str | None = Field(default=None, description="XLSX sheet name (default: the first)")
    encoding: str | None = Field(default=None, description="Override encoding detection")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "file" in data and "path" not in data:
            data = {k: v for k, v in data.items() if k != "file"} | {"path": data["file"]}
            data.setdefault("kind", "file")
        return data

    def fetch(self, ctx: FetchContext) -> Iterator[RawRecord]:
        path = self.path if self.path.is_absolute() else ctx.base_dir / self.path
        if not path.exists():
            raise UserError(
                [
                    Problem(
                        message=f"文件或文件夹不存在 / no such file or folder (source {ctx.source_name})",
                        location=Location(file=str(path)),
                        hint="paths are relative to the rule pack's folder",
                    )
                ]
            )
        files = list(iter_files(path))
        if path.is_dir() and not files:
            raise UserError(
                [
                    Problem(
                        message=f"文件夹中没有可读文件 / no CSV/XLSX/JSON files in the folder (source {ctx.source_name})",
                        location=Location(file=str(path)),
                    )
                ]
            )
        problems: list[Problem] = []
        tables = []
        for file in files:
            try:
                tables.append(read_table(file, sheet=self.sheet, encoding=self.encoding))
            except UserError as error:  # collect every unreadable file, then raise once
                problems.extend(error.problems)
        if problems:
            raise UserError(problems)
        for table in tables:
            for row in table.rows:
                yield RawRecord(values=row.values, location=row.location)
