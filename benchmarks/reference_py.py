"""The benchmark pack's 13 rules as plain Python loops: the correctness yardstick.

Written from what each rule says (pack.yaml and docs/rules.md), not from the engine's SQL: the
records are read row by row and judged with dictionaries, ``bisect`` and ``Decimal``. It is slow
(about a microsecond per value read) and runs once per benchmark, outside every timed figure.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

YEAR = 2026
Key = tuple[str, str, str]  # (rule, subject, period)
Verdicts = dict[Key, tuple[str, str | None]]  # -> (verdict, bearer)

ZERO = Decimal(0)


def month_label(day: dt.date) -> str:
    return f"{day.year}-{day.month:02d}"


def quarter_label(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def half_label(day: dt.date) -> str:
    return f"{day.year}-H{(day.month - 1) // 6 + 1}"


def month_end(year: int, month: int) -> dt.date:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


MONTHS = {f"{YEAR}-{m:02d}": month_end(YEAR, m) for m in range(1, 13)}
QUARTERS = {f"{YEAR}-Q{q}": month_end(YEAR, q * 3) for q in range(1, 5)}
HALVES = {f"{YEAR}-H{h}": month_end(YEAR, h * 6) for h in range(1, 3)}
YEAR_END = dt.date(YEAR, 12, 31)


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> Iterator[tuple[Any, ...]]:
    result = con.execute(sql)
    while batch := result.fetchmany(100_000):
        yield from batch


@dataclass
class Org:
    kind: dict[str, str] = field(default_factory=dict)
    parent: dict[str, str | None] = field(default_factory=dict)
    people: list[tuple[str, str | None, bool, list[str]]] = field(default_factory=list)
    # (post, unit) -> [(since, until, person)]
    posts: dict[tuple[str, str], list[tuple[dt.date, dt.date | None, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def holders(self, post: str, unit: str, day: dt.date) -> list[str]:
        return sorted(
            person
            for since, until, person in self.posts.get((post, unit), [])
            if since <= day and (until is None or until >= day)
        )

    def bearer(self, post: str, unit: str | None, day: dt.date, *, up: bool) -> str | None:
        """The post's holder at the unit on the day; with ``up``, at the nearest unit above
        that has one."""
        current = unit
        while current is not None:
            found = self.holders(post, current, day)
            if found:
                return found[0]
            if not up:
                return None
            current = self.parent.get(current)
        return None

    def holders_of(self, post: str, day: dt.date) -> dict[str, str]:
        """People holding ``post`` anywhere on ``day`` -> the (lowest) unit they hold it at."""
        result: dict[str, str] = {}
        for (name, unit), spells in self.posts.items():
            if name != post:
                continue
            for since, until, person in spells:
                if since <= day and (until is None or until >= day):
                    result[person] = min(unit, result.get(person, unit))
        return result


def read_org(con: duckdb.DuckDBPyConnection) -> Org:
    org = Org()
    for code, kind, parent in rows(con, "SELECT code, kind, parent_code FROM org_units"):
        org.kind[code] = kind
        org.parent[code] = parent
    for code, unit, member, tags in rows(
        con, "SELECT code, unit_code, party_member, tags FROM org_people"
    ):
        org.people.append((code, unit, bool(member), list(tags or [])))
    for person, post, unit, since, until in rows(
        con, "SELECT person_code, post_name, unit_code, since, until FROM org_posts"
    ):
        org.posts[(post, unit)].append((since, until, person))
    return org


def evaluate(con: duckdb.DuckDBPyConnection) -> Verdicts:
    """Every verdict of every rule for the inspected year."""
    org = read_org(con)
    verdicts: Verdicts = {}
    meetings(con, org, verdicts)
    training(con, org, verdicts)
    dues(con, org, verdicts)
    pledges(con, org, verdicts)
    talks(con, org, verdicts)
    claims(con, org, verdicts)
    procurements(con, org, verdicts)
    return verdicts


def meetings(con: duckdb.DuckDBPyConnection, org: Org, out: Verdicts) -> None:
    held: dict[tuple[str, str, str], int] = defaultdict(int)  # (kind, unit, period)
    present: set[str] = set()
    for unit, kind, day in rows(con, "SELECT unit, kind, held_on FROM ev_meeting"):
        if day is None or day.year != YEAR:
            continue
        present.update((month_label(day), quarter_label(day)))
        held[(kind, unit, month_label(day))] += 1
        held[(kind, unit, quarter_label(day))] += 1
    for rule, unit_kind, meeting, periods, up in (
        ("branch-committee-monthly", "branch", "支委会", MONTHS, False),
        ("members-assembly-quarterly", "branch", "党员大会", QUARTERS, False),
        ("group-meeting-monthly", "group", "党小组会", MONTHS, True),
    ):
        for unit, kind in org.kind.items():
            if kind != unit_kind:
                continue
            for label, end in periods.items():
                if label not in present:
                    verdict = "no-evidence"
                else:
                    verdict = "pass" if held.get((meeting, unit, label), 0) >= 1 else "fail"
                out[(rule, unit, label)] = (verdict, org.bearer("党支部书记", unit, end, up=up))


def members(org: Org) -> list[str]:
    return [code for code, _, member, _ in org.people if member]


def training(con: duckdb.DuckDBPyConnection, org: Org, out: Verdicts) -> None:
    hours: dict[str, Decimal] = defaultdict(Decimal)
    present = False
    for member, amount, day in rows(con, "SELECT member, hours, held_on FROM ev_training"):
        if day is not None and day.year == YEAR:
            present = True
            if amount is not None:
                hours[member] += amount
    for code in members(org):
        verdict = "pass" if hours.get(code, ZERO) >= 32 else "fail"
        out[("member-training-hours", code, str(YEAR))] = (
            verdict if present else "no-evidence",
            code,
        )


def dues(con: duckdb.DuckDBPyConnection, org: Org, out: Verdicts) -> None:
    """Dues count for the month they name, if paid (amount > 0) by the 15th of the next."""
    paid: set[tuple[str, str]] = set()
    present: set[str] = set()
    for member, month, amount, day in rows(
        con, "SELECT member, month, amount, paid_on FROM ev_dues"
    ):
        present.add(month)
        due = MONTHS.get(month)
        if due is None or day is None or amount is None:
            continue
        if amount > 0 and day <= due + dt.timedelta(days=15):
            paid.add((member, month))
    for code in members(org):
        for label in MONTHS:
            verdict = "pass" if (code, label) in paid else "fail"
            out[("dues-monthly", code, label)] = (
                verdict if label in present else "no-evidence",
                code,
            )


def pledges(con: duckdb.DuckDBPyConnection, org: Org, out: Verdicts) -> None:
    """Whoever is department head at the year's end signs by 31 March."""
    deadline = dt.date(YEAR, 3, 31)
    signed: set[str] = set()
    present = False
    for signer, day in rows(con, "SELECT signer, signed_on FROM ev_pledge"):
        if day is not None and day.year == YEAR:
            present = True
            if day <= deadline:
                signed.add(signer)
    for code in org.holders_of("部门负责人", YEAR_END):
        verdict = "pass" if code in signed else "fail"
        out[("pledge-by-march", code, str(YEAR))] = (verdict if present else "no-evidence", code)


def talks(con: duckdb.DuckDBPyConnection, org: Org, out: Verdicts) -> None:
    """Heads in post at each half-year's end talk with at least three different people."""
    talked: dict[tuple[str, str], set[str]] = defaultdict(set)
    present: set[str] = set()
    for host, other, kind, day in rows(con, "SELECT host, talked_to, kind, held_on FROM ev_talk"):
        if day is None or day.year != YEAR:
            continue
        present.add(half_label(day))
        if kind == "廉政谈话" and other is not None:
            talked[(host, half_label(day))].add(other)
    for label, end in HALVES.items():
        for code in org.holders_of("部门负责人", end):
            verdict = "pass" if len(talked.get((code, label), ())) >= 3 else "fail"
            out[("head-integrity-talks", code, label)] = (
                verdict if label in present else "no-evidence",
                code,
            )


def claims(con: duckdb.DuckDBPyConnection, org: Org, out: Verdicts) -> None:
    spent: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    present: set[str] = set()
    for key, person, category, amount, day, approver in rows(
        con, "SELECT _key, person, category, amount, claimed_on, approved_by FROM ev_claim"
    ):
        if day is None or day.year != YEAR:
            continue
        label = month_label(day)
        present.add(label)
        if category == "业务招待" and amount is not None:
            spent[(person, label)] += amount
        if amount is not None and amount >= 5000:
            ok = approver is not None and person is not None and approver != person
            out[("large-claim-approval", key, label)] = ("pass" if ok else "fail", None)
    for code, _, _, tags in org.people:
        if "领导干部" not in tags:
            continue
        for label in MONTHS:
            verdict = "pass" if spent.get((code, label), ZERO) <= 20000 else "fail"
            out[("entertainment-cap", code, label)] = (
                verdict if label in present else "no-evidence",
                code,
            )


def procurements(con: duckdb.DuckDBPyConnection, org: Org, out: Verdicts) -> None:
    decisions: dict[str, list[dt.date | None]] = defaultdict(list)
    for ident, day in rows(con, "SELECT decision_no, decided_on FROM ev_decision"):
        decisions[ident].append(day)
    reps: dict[str, list[str | None]] = defaultdict(list)
    for code, rep in rows(con, "SELECT code, legal_rep FROM ev_vendor"):
        reps[code].append(rep)
    relatives = set(rows(con, "SELECT cadre, name FROM ev_relative"))
    # (unit, vendor) -> [(date, amount)] of purchases below the tender threshold
    groups: dict[tuple[str, str], list[tuple[dt.date, Decimal]]] = defaultdict(list)
    window_start = dt.date(YEAR, 1, 1) - dt.timedelta(days=30)
    for key, unit, vendor, amount, method, day, decision in rows(
        con,
        "SELECT _key, unit, vendor, amount, method, contract_date, decision_id FROM ev_procurement",
    ):
        if day is None:
            continue
        if amount is not None and amount < 2000000 and window_start <= day <= YEAR_END:
            groups[(unit or "", vendor or "")].append((day, amount))
        if day.year != YEAR:
            continue
        if amount is not None and amount >= 2000000:
            verdict = "pass" if method == "公开招标" else "fail"
            out[("tender-method", key, quarter_label(day))] = (verdict, None)
        if amount is not None and amount >= 1000000:
            if not decisions:
                verdict = "no-evidence"
            else:
                timely = any(d is not None and d <= day for d in decisions.get(decision, []))
                verdict = "pass" if timely else "fail"
            bearer = org.bearer("部门负责人", unit, day, up=True)
            out[("major-procurement-decision", key, month_label(day))] = (verdict, bearer)
        # passes if some pairing of the head on that day with the vendor has no declared kinship
        heads: list[str | None] = list(org.holders("部门负责人", unit, day)) or [None]
        vendor_reps = reps.get(vendor, []) or [None]
        related = all(
            head is not None and rep is not None and (head, rep) in relatives
            for head in heads
            for rep in vendor_reps
        )
        out[("vendor-related-to-head", key, month_label(day))] = (
            "fail" if related else "pass",
            None,
        )
    split_purchases(groups, org, out)


def split_purchases(
    groups: dict[tuple[str, str], list[tuple[dt.date, Decimal]]], org: Org, out: Verdicts
) -> None:
    """For each purchase, the purchases of its group dated within the 30 days up to it: two or
    more reaching 2 million fail the group for the quarter of that purchase."""
    for (unit, vendor), purchases in groups.items():
        purchases.sort()
        days = [day for day, _ in purchases]
        totals = [ZERO]
        for _, amount in purchases:
            totals.append(totals[-1] + amount)
        crossed: dict[str, bool] = {}
        last: dict[str, dt.date] = {}
        for day in days:
            if day.year != YEAR:
                continue
            first = bisect.bisect_left(days, day - dt.timedelta(days=30))
            end = bisect.bisect_right(days, day)
            label = quarter_label(day)
            over = end - first >= 2 and totals[end] - totals[first] >= 2000000
            crossed[label] = crossed.get(label, False) or over
            last[label] = max(day, last.get(label, day))
        for label, over in crossed.items():
            bearer = org.bearer("部门负责人", unit, last[label], up=False)
            out[("split-purchase", f"{unit}/{vendor}", label)] = (
                "fail" if over else "pass",
                bearer,
            )
