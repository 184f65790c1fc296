"""The bundled sample company (北辰煤业集团有限公司) and the steps of ``dualduty demo``.

The sample is a committed HR export under ``sample/`` (written once by ``generate_org``); it is
loaded through the ordinary org import, so the demo exercises the same path a real export takes.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from evidence.orgfiles import ImportReport, import_org

SAMPLE_FILES = ("units.csv", "people.csv", "posts.csv")
SAMPLE_COMPANY = "BC"


SAMPLE_DIR = Path(__file__).with_name("sample")


def sample_paths() -> list[Path]:
    """The sample files, shipped as package data (the wheel installs them as plain files)."""
    return [SAMPLE_DIR / name for name in SAMPLE_FILES]


def load_sample_company(session: Session) -> ImportReport:
    """Import the sample company through the normal import path. Does not commit."""
    return import_org(session, paths=sample_paths())
