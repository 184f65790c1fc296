"""The ``assess`` Prefect flow, once, on a real (temporary) Prefect engine: it costs ~16 s, so
everything else is tested through the library call the flow makes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

import models
from models.session import get_engine
from tests.assessments.db import inspect, seed_org
from tests.assessments.test_snapshots import quarter_of_findings


@pytest.mark.prefect
def test_flow_publishes_and_leaves_a_markdown_artifact(db_env: str, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.testing.utilities import prefect_test_harness

    from workflows.assess import assess

    engine = get_engine()
    models.Base.metadata.create_all(engine)
    with Session(engine) as session:
        seed_org(session)
        inspect(session, quarter_of_findings())
        session.commit()

    with prefect_test_harness(server_startup_timeout=90):
        brief = assess(period="2026-Q3", out_dir=str(tmp_path / "out"), publish=True)
        with get_client(sync_client=True) as client:
            artifacts = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["assessment-2026-q3"]))
            )
    assert (brief.status, brief.version, brief.units, brief.cadres) == ("published", 1, 5, 4)
    assert Path(brief.html).exists() and Path(brief.xlsx).exists()
    [artifact] = artifacts
    assert isinstance(artifact.data, str)
    assert artifact.data.startswith("# 2026年第三季度一岗双责考核")
    assert "第二党支部" in artifact.data
