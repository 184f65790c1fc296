"""Reports of an assessment: HTML for reading and printing, XLSX for filing, Markdown digests."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from assessments.reports.html import render_html
from assessments.reports.markdown import summary_markdown
from assessments.reports.xlsx import write_xlsx
from assessments.service import AssessmentOutcome


class ReportFiles(BaseModel):
    model_config = ConfigDict(frozen=True)

    html: Path
    xlsx: Path


def write_reports(outcome: AssessmentOutcome, out_dir: Path) -> ReportFiles:
    """Write ``assessment-<period>[-v<n>].html`` and ``.xlsx`` into ``out_dir``."""
    result = outcome.result
    stem = f"assessment-{result.period}" + (f"-v{outcome.version}" if outcome.version else "-draft")
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / f"{stem}.html"
    html.write_text(render_html(outcome), encoding="utf-8")
    xlsx = write_xlsx(outcome, out_dir / f"{stem}.xlsx")
    return ReportFiles(html=html, xlsx=xlsx)


__all__ = ["ReportFiles", "render_html", "summary_markdown", "write_reports", "write_xlsx"]
