"""A pack as the workflows hold it: compiled once per process and file version.

Every pipeline step takes the pack's path, not the pack (Prefect tasks pass small values); the
cache makes reloading free, and keying it by modification time means a long-lived scheduler
picks up an edited pack at its next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dualduty.errors import NotFoundError
from rules.compiler import CompiledPack
from rules.compiler import load_pack as compile_pack
from rules.schema import RulePack


@dataclass(frozen=True)
class LoadedPack:
    path: Path
    compiled: CompiledPack

    @property
    def name(self) -> str:
        return self.compiled.id

    @property
    def version(self) -> str:
        return self.compiled.version

    @property
    def rules(self) -> RulePack:
        return self.compiled.pack


def load_pack(path: str | Path) -> LoadedPack:
    resolved = Path(path).resolve()
    try:
        stat = resolved.stat()
    except FileNotFoundError:
        raise NotFoundError(f"规则包不存在 / no pack file {resolved}") from None
    return _load(resolved, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)
def _load(path: Path, _mtime_ns: int, _size: int) -> LoadedPack:
    return LoadedPack(path=path, compiled=compile_pack(path))
