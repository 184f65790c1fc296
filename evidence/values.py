"""Typed field values: the vocabulary of evidence fields, and parsing text into it.

Real exports write dates as 2026-03-01, 2026/3/1, 2026.3.1, 20260301 or 2026年3月1日 and amounts
as "1,200,000.00" or "120万": every reader (org import, evidence files, rule-test fixtures)
parses through here, so a value means the same thing everywhere and a bad one gets one message.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

Value = str | int | Decimal | bool | dt.date | dt.datetime | list[str] | None


class FieldType(StrEnum):
    str = "str"
    int = "int"
    decimal = "decimal"  # money: exact, never float
    float = "float"
    bool = "bool"
    date = "date"
    datetime = "datetime"
    unit = "unit"  # a unit code; checked against the organisation
    person = "person"  # a person code (工号)
    list = "list"  # list of strings ("A;B;C" in files)


class BadValue(ValueError):
    """A value that does not parse as its declared type. The message is bilingual and says
    what was expected."""


_DATE = re.compile(
    r"^\s*(?P<y>\d{4})\s*(?:[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?|(?P<m2>\d{2})(?P<d2>\d{2}))"
    r"(?:[ T]+(?P<H>\d{1,2})[:时](?P<M>\d{2})(?:[:分](?P<S>\d{2})(?:\.\d+)?秒?)?)?\s*$"
)
_TRUE = {"true", "1", "yes", "y", "是", "有", "√", "t"}
_FALSE = {"false", "0", "no", "n", "否", "无", "×", "f", ""}


def parse_date(text: str) -> dt.date:
    return _parse_datetime(text, want_time=False).date()


def parse_datetime(text: str) -> dt.datetime:
    return _parse_datetime(text, want_time=True)


def _parse_datetime(text: str, *, want_time: bool) -> dt.datetime:
    m = _DATE.match(text)
    if not m:
        raise BadValue(
            f"无法识别的日期 / not a date: {text!r} "
            "(2026-03-01, 2026/3/1, 2026.3.1, 20260301, 2026年3月1日)"
        )
    year = int(m["y"])
    month = int(m["m"] or m["m2"])
    day = int(m["d"] or m["d2"])
    try:
        return dt.datetime(year, month, day, int(m["H"] or 0), int(m["M"] or 0), int(m["S"] or 0))
    except ValueError as error:
        raise BadValue(f"日期不存在 / impossible date {text!r}: {error}") from None


def parse_decimal(text: str) -> Decimal:
    cleaned = text.strip().replace(",", "").replace("，", "").replace("¥", "").replace("元", "")
    scale = Decimal(1)
    if cleaned.endswith("万"):
        cleaned, scale = cleaned[:-1], Decimal(10000)
    elif cleaned.endswith("亿"):
        cleaned, scale = cleaned[:-1], Decimal(100000000)
    try:
        value = Decimal(cleaned) * scale
    except InvalidOperation:
        raise BadValue(f"不是数字 / not a number: {text!r}") from None
    if not value.is_finite():
        raise BadValue(f"不是有限数字 / not a finite number: {text!r}")
    return value


def coerce(raw: Any, field_type: FieldType) -> Value:
    """Parse one raw value (text from a file, JSON value from an API, DB value) to its type.

    Empty text and None become None; callers decide whether the field is required.
    """
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    match field_type:
        case FieldType.str | FieldType.unit | FieldType.person:
            if isinstance(raw, float) and raw.is_integer():
                raw = int(raw)  # Excel turns codes like 1001 into 1001.0
            return str(raw).strip()
        case FieldType.int:
            if isinstance(raw, bool):
                raise BadValue(f"不是整数 / not an integer: {raw!r}")
            if isinstance(raw, int):
                return raw
            number = parse_decimal(str(raw))
            if number != number.to_integral_value():
                raise BadValue(f"不是整数 / not an integer: {raw!r}")
            return int(number)
        case FieldType.decimal | FieldType.float:
            if isinstance(raw, bool):
                raise BadValue(f"不是数字 / not a number: {raw!r}")
            if isinstance(raw, int | Decimal):
                return Decimal(raw)
            if isinstance(raw, float):
                return Decimal(repr(raw))
            return parse_decimal(str(raw))
        case FieldType.bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise BadValue(f"不是是/否 / not a yes/no value: {raw!r}")
        case FieldType.date:
            if isinstance(raw, dt.datetime):
                return raw.date()
            if isinstance(raw, dt.date):
                return raw
            return parse_date(str(raw))
        case FieldType.datetime:
            if isinstance(raw, dt.datetime):
                return raw
            if isinstance(raw, dt.date):
                return dt.datetime(raw.year, raw.month, raw.day)
            return parse_datetime(str(raw))
        case FieldType.list:
            if isinstance(raw, list):
                return [str(item).strip() for item in raw if str(item).strip()]
            return [part.strip() for part in re.split(r"[;；,，、|]", str(raw)) if part.strip()]
