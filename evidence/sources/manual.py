"""Records people submit by hand (``dualduty evidence add``, later the console's form)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

from evidence.sources.base import BaseSource, FetchContext, RawRecord


class ManualSource(BaseSource):
    """Nothing to fetch: records arrive through ``evidence.manual.submit``.

    Declaring it documents that a type is filled by hand, and lets ``map`` accept form labels.

    ```yaml
    source: {kind: manual}
    ```
    """

    fixed_columns: ClassVar[bool] = False

    kind: Literal["manual"] = "manual"

    def fetch(self, ctx: FetchContext) -> Iterator[RawRecord]:
        return iter(())
