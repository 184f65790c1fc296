"""load_frames: the evaluation tables hold exactly the current versions, org included."""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import gc
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dualduty.errors import NotFoundError
from dualduty.problems import Location
from dualduty.settings import get_settings
from evidence import frames, store
from evidence.cache import READERS, cache_root
from evidence.loader import load_frames, refresh_cache
from evidence.sources import TypedRecord
from evidence.types import EvidenceType
from models.org import Person, PostAssignment, PostType, Unit

PROCUREMENT = EvidenceType.model_validate(
    {
        "fields": {
            "no": "str",
            "unit": "unit",
            "amount": "decimal",
            "signed_on": "date",
            "at": "datetime",
            "urgent": "bool",
            "items": "list",
            "score": "float",
            "count": "int",
        },
        "key": ["no"],
    }
)
TALK = EvidenceType.model_validate(
    {"fields": {"talker": "person", "held_on": "date"}, "key": ["talker", "held_on"]}
)
EMPTY = EvidenceType.model_validate({"fields": {"code": "str"}})


def org(session: Session) -> None:
    session.add_all(
        [
            Unit(code="C", name="集团公司", kind="company", parent_code=None),
            Unit(code="M1", name="一矿", kind="mine", parent_code="C"),
            Unit(code="B1", name="一矿第一党支部", kind="branch", parent_code="M1"),
            Unit(code="M2", name="二矿", kind="mine", parent_code="C"),
        ]
    )
    session.flush()
    session.add_all(
        [
            Person(code="P1", name="张三", unit_code="B1", party_member=True, tags=["cadre"]),
            Person(code="P2", name="李四", unit_code="M2", party_member=False, tags=[]),
            PostType(name="党支部书记"),
        ]
    )
    session.flush()
    session.add(
        PostAssignment(
            person_code="P1",
            post_name="党支部书记",
            unit_code="B1",
            since=dt.date(2025, 1, 1),
            until=None,
        )
    )


def procurement(no: str, unit: str, amount: str) -> TypedRecord:
    return TypedRecord(
        fields={
            "no": no,
            "unit": unit,
            "amount": Decimal(amount),
            "signed_on": dt.date(2026, 3, 5),
            "at": dt.datetime(2026, 3, 5, 9, 30),
            "urgent": True,
            "items": ["钢材", "水泥"],
            "score": Decimal("0.5"),
            "count": 3,
        },
        raw={},
        location=Location(file="erp"),
    )


def put(session: Session, type_name: str, kind: EvidenceType, records: list[TypedRecord]) -> None:
    store.ingest(
        session,
        type_name=type_name,
        evidence_type=kind,
        records=records,
        source_name="t",
        source_kind="file",
    )
    session.commit()


def ev(con: frames.duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return con.execute(sql).fetchall()


def test_loads_current_versions_typed(engine: sa.Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        org(session)
        session.commit()
        put(
            session,
            "procurement",
            PROCUREMENT,
            [procurement("C1", "B1", "1200000"), procurement("C2", "M2", "80000.5")],
        )
        put(
            session,
            "talk",
            TALK,
            [
                TypedRecord(
                    fields={"talker": "P1", "held_on": dt.date(2026, 3, 1)},
                    raw={},
                    location=Location(),
                )
            ],
        )
    con = frames.connect()
    report = load_frames(
        engine,
        types={"procurement": PROCUREMENT, "talk": TALK, "empty": EMPTY},
        con=con,
        cache_dir=tmp_path,
    )
    assert report.org_rows == {"org_units": 4, "org_people": 2, "org_posts": 1}
    assert ev(con, "SELECT code, parent_code FROM org_units ORDER BY code") == [
        ("B1", "M1"),
        ("C", None),
        ("M1", "C"),
        ("M2", "C"),
    ]
    assert ev(con, "SELECT code, party_member, tags FROM org_people ORDER BY code") == [
        ("P1", True, ["cadre"]),
        ("P2", False, []),
    ]
    assert ev(con, "SELECT person_code, post_name, since, until FROM org_posts") == [
        ("P1", "党支部书记", dt.date(2025, 1, 1), None)
    ]
    rows = ev(
        con,
        'SELECT _key, no, unit, amount, signed_on, "at", urgent, items, score, "count" FROM ev_procurement ORDER BY no',
    )
    assert rows == [
        (
            "C1",
            "C1",
            "B1",
            Decimal("1200000.00"),
            dt.date(2026, 3, 5),
            dt.datetime(2026, 3, 5, 9, 30),
            True,
            ["钢材", "水泥"],
            0.5,
            3,
        ),
        (
            "C2",
            "C2",
            "M2",
            Decimal("80000.50"),
            dt.date(2026, 3, 5),
            dt.datetime(2026, 3, 5, 9, 30),
            True,
            ["钢材", "水泥"],
            0.5,
            3,
        ),
    ]
    with Session(engine) as session:
        ids = {r.natural_key: r.id for r in store.list_current(session, type_name="procurement")}
    assert dict(ev(con, "SELECT _key, _id FROM ev_procurement")) == ids
    assert ev(con, "SELECT _key FROM ev_talk") == [("P1/2026-03-01",)]
    assert ev(con, "SELECT count(*) FROM ev_empty") == [(0,)]
    # The shapes are the contract's own.
    contract = frames.connect()
    frames.create_evidence_table(contract, "procurement", PROCUREMENT.fields)
    assert ev(con, "DESCRIBE ev_procurement") == ev(contract, "DESCRIBE ev_procurement")
    assert (
        report.types["procurement"].cache_rebuilt
        and report.types["procurement"].added_to_cache == 2
    )


def test_later_changes_reach_the_cache_incrementally(engine: sa.Engine, tmp_path: Path) -> None:
    types = {"procurement": PROCUREMENT}
    with Session(engine) as session:
        put(
            session,
            "procurement",
            PROCUREMENT,
            [procurement("C1", "B1", "100"), procurement("C2", "B1", "200")],
        )
    load_frames(engine, types=types, con=frames.connect(), cache_dir=tmp_path)
    with Session(engine) as session:
        put(
            session,
            "procurement",
            PROCUREMENT,
            [procurement("C1", "B1", "150"), procurement("C3", "B1", "300")],
        )
    con = frames.connect()
    report = load_frames(engine, types=types, con=con, cache_dir=tmp_path)
    assert (
        report.types["procurement"].cache_rebuilt,
        report.types["procurement"].added_to_cache,
    ) == (False, 2)
    assert ev(con, "SELECT no, amount FROM ev_procurement ORDER BY no") == [
        ("C1", Decimal("150.00")),
        ("C2", Decimal("200.00")),
        ("C3", Decimal("300.00")),
    ]
    # Refreshing ahead (after gathering) leaves nothing for the load to copy.
    with Session(engine) as session:
        put(session, "procurement", PROCUREMENT, [procurement("C4", "B1", "400")])
    (ahead,) = refresh_cache(engine, types=types, cache_dir=tmp_path)
    assert (ahead.added, ahead.rebuilt, ahead.rows) == (1, False, 5)  # all versions
    # Nothing new: nothing copied, same answer.
    again = load_frames(engine, types=types, con=frames.connect(), cache_dir=tmp_path)
    assert again.types["procurement"].added_to_cache == 0 and again.types["procurement"].rows == 4


def test_many_small_refreshes_are_compacted(engine: sa.Engine, tmp_path: Path) -> None:
    types = {"procurement": PROCUREMENT}
    for round_ in range(10):  # 10 parts: one compaction past COMPACT_AFTER
        with Session(engine) as session:
            put(
                session,
                "procurement",
                PROCUREMENT,
                [procurement("C1", "B1", str(100 + round_)), procurement(f"N{round_}", "B1", "1")],
            )
        load_frames(engine, types=types, con=frames.connect(), cache_dir=tmp_path)
    con = frames.connect()
    load_frames(engine, types=types, con=con, cache_dir=tmp_path)
    parts = list((cache_root(engine, tmp_path) / "procurement").glob("*.parquet"))
    assert len(parts) == 2  # nine parts were merged into one, then the tenth came
    assert ev(con, "SELECT amount FROM ev_procurement WHERE no = 'C1'") == [(Decimal("109.00"),)]
    assert ev(con, "SELECT count(*) FROM ev_procurement") == [(11,)]


def test_a_new_database_or_new_fields_rebuild_the_cache(
    sqlite_engine: sa.Engine, tmp_path: Path
) -> None:
    types = {"procurement": PROCUREMENT}
    with Session(sqlite_engine) as session:
        put(session, "procurement", PROCUREMENT, [procurement("C1", "B1", "100")])
    load_frames(sqlite_engine, types=types, con=frames.connect(), cache_dir=tmp_path)
    # Same URL, database recreated with other content: the cache must not answer for it.
    with sqlite_engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM evidence_records"))
    with Session(sqlite_engine) as session:
        put(session, "procurement", PROCUREMENT, [procurement("D9", "B1", "999")])
    con = frames.connect()
    report = load_frames(sqlite_engine, types=types, con=con, cache_dir=tmp_path)
    assert report.types["procurement"].cache_rebuilt
    assert ev(con, "SELECT no FROM ev_procurement") == [("D9",)]
    narrower = EvidenceType.model_validate(
        {"fields": {"no": "str", "amount": "decimal"}, "key": ["no"]}
    )
    con = frames.connect()
    report = load_frames(
        sqlite_engine, types={"procurement": narrower}, con=con, cache_dir=tmp_path
    )
    assert report.types["procurement"].cache_rebuilt
    assert ev(con, "SELECT * FROM ev_procurement")[0][2:] == ("D9", Decimal("999.00"))


def test_unit_scope_keeps_the_subtree(engine: sa.Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        org(session)
        session.commit()
        put(
            session,
            "procurement",
            PROCUREMENT,
            [
                procurement("C1", "B1", "1"),
                procurement("C2", "M2", "2"),
                procurement("C3", "M1", "3"),
            ],
        )
        put(
            session,
            "talk",
            TALK,
            [
                TypedRecord(
                    fields={"talker": "P1", "held_on": dt.date(2026, 3, 1)},
                    raw={},
                    location=Location(),
                ),
                TypedRecord(
                    fields={"talker": "P2", "held_on": dt.date(2026, 3, 1)},
                    raw={},
                    location=Location(),
                ),
            ],
        )
    con = frames.connect()
    load_frames(
        engine,
        types={"procurement": PROCUREMENT, "talk": TALK},
        con=con,
        unit_scope="M1",
        cache_dir=tmp_path,
    )
    assert ev(con, "SELECT no FROM ev_procurement ORDER BY no") == [("C1",), ("C3",)]
    assert ev(con, "SELECT talker FROM ev_talk") == [("P1",)]
    assert ev(con, "SELECT count(*) FROM org_units") == [(4,)]  # the org stays whole
    with pytest.raises(NotFoundError, match="no unit 'X9'"):
        load_frames(engine, types={}, con=frames.connect(), unit_scope="X9", cache_dir=tmp_path)


def test_uncommitted_records_are_not_loaded(sqlite_engine: sa.Engine, tmp_path: Path) -> None:
    with Session(sqlite_engine) as session:
        store.ingest(
            session,
            type_name="procurement",
            evidence_type=PROCUREMENT,
            records=[procurement("C1", "B1", "1")],
            source_name="t",
            source_kind="file",
        )
        con = frames.connect()
        load_frames(session, types={"procurement": PROCUREMENT}, con=con, cache_dir=tmp_path)
        assert ev(con, "SELECT count(*) FROM ev_procurement") == [(0,)]
        session.rollback()
    with Session(sqlite_engine) as session:
        put(session, "procurement", PROCUREMENT, [procurement("C7", "B1", "7")])
    con = frames.connect()
    load_frames(sqlite_engine, types={"procurement": PROCUREMENT}, con=con, cache_dir=tmp_path)
    assert ev(con, "SELECT no FROM ev_procurement") == [("C7",)]


def relations(con: frames.duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = ev(
        con,
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_name LIKE 'ev\\_%' ESCAPE '\\'",
    )
    return {str(name): str(kind) for name, kind in rows}


def readers(root: Path) -> list[str]:
    return sorted(p.name for p in (root / READERS).iterdir())


def test_views_read_pinned_parts_that_the_cache_may_drop(
    sqlite_engine: sa.Engine, tmp_path: Path
) -> None:
    types = {"procurement": PROCUREMENT, "empty": EMPTY}
    with Session(sqlite_engine) as session:
        put(session, "procurement", PROCUREMENT, [procurement("C1", "B1", "1")])
    con = frames.connect()
    load_frames(sqlite_engine, types=types, con=con, cache_dir=tmp_path)
    # The evidence stays on disk; a type with nothing cached is an empty table.
    assert relations(con) == {"ev_procurement": "VIEW", "ev_empty": "BASE TABLE"}
    root = cache_root(sqlite_engine, tmp_path)
    # Compaction and rebuilds delete parts (and a rebuild may reuse a name): the loaded
    # connection keeps reading what it pinned.
    shutil.rmtree(root / "procurement")
    (root / "procurement.json").unlink()
    assert ev(con, "SELECT no FROM ev_procurement") == [("C1",)]
    # Loading again on the same connection replaces the views with the new state.
    with Session(sqlite_engine) as session:
        put(session, "procurement", PROCUREMENT, [procurement("C2", "B1", "2")])
    report = load_frames(sqlite_engine, types=types, con=con, cache_dir=tmp_path)
    assert report.types["procurement"].cache_rebuilt
    assert ev(con, "SELECT no FROM ev_procurement ORDER BY no") == [("C1",), ("C2",)]


def test_the_connection_is_capped_and_its_hold_goes_with_it(
    sqlite_engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUALDUTY_EVALUATION_MEMORY_MIB", "64")
    get_settings.cache_clear()
    try:
        with Session(sqlite_engine) as session:
            put(session, "procurement", PROCUREMENT, [procurement("C1", "B1", "1")])
        con = frames.connect()
        load_frames(sqlite_engine, types={"procurement": PROCUREMENT}, con=con, cache_dir=tmp_path)
    finally:
        get_settings.cache_clear()
    root = cache_root(sqlite_engine, tmp_path)
    (lock,) = [name for name in readers(root) if name.endswith(".lock")]
    folder = root / READERS / lock.removesuffix(".lock")
    assert ev(con, "SELECT current_setting('memory_limit')") == [("64.0 MiB",)]
    # Spills go to the hold's own folder: DuckDB instances sharing one clash (duckdb#15173).
    assert ev(con, "SELECT current_setting('temp_directory')") == [(str(folder / "spill"),)]
    con.close()
    del con
    gc.collect()
    assert readers(root) == []


def test_holds_of_dead_processes_are_swept(sqlite_engine: sa.Engine, tmp_path: Path) -> None:
    root = cache_root(sqlite_engine, tmp_path)
    (root / READERS / "1-dead").mkdir(parents=True)
    (root / READERS / "1-dead" / "spill").mkdir()
    (root / READERS / "1-dead.lock").touch()
    (root / READERS / "2-alive").mkdir()
    alive = (root / READERS / "2-alive.lock").open("a")
    fcntl.flock(alive, fcntl.LOCK_EX)  # another process would hold it like this
    try:
        con = frames.connect()
        load_frames(sqlite_engine, types={"procurement": PROCUREMENT}, con=con, cache_dir=tmp_path)
        names = readers(root)
        assert "1-dead" not in names and "1-dead.lock" not in names
        assert {"2-alive", "2-alive.lock"} <= set(names)
    finally:
        alive.close()


def test_without_hard_links_the_parts_are_copied(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(engine) as session:
        put(session, "procurement", PROCUREMENT, [procurement("C1", "B1", "1")])
        put(session, "procurement", PROCUREMENT, [procurement("C1", "B1", "5")])

    def refuse(source: object, link: object) -> None:
        raise OSError(errno.EPERM, "no hard links here")

    monkeypatch.setattr(os, "link", refuse)
    con = frames.connect()
    report = load_frames(engine, types={"procurement": PROCUREMENT}, con=con, cache_dir=tmp_path)
    assert relations(con) == {"ev_procurement": "BASE TABLE"}
    assert report.types["procurement"].rows == 1
    assert ev(con, "SELECT amount FROM ev_procurement") == [(Decimal("5.00"),)]
