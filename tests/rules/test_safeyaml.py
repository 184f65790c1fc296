"""The safe YAML loader: what it refuses, and the positions it keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualduty.errors import UserError
from rules import safeyaml
from rules.safeyaml import load_path, load_text


def problems(text: str) -> list[str]:
    with pytest.raises(UserError) as caught:
        load_text(text, file="p.yaml")
    return [str(p) for p in caught.value.problems]


def test_plain_data_with_yaml_1_2_scalars() -> None:
    doc = load_text("a: 1\nb: yes\nc: 2026-03-01\nd: 1.5\ne: ~\nf: [x, 'y']\n2026: year\n")
    # yes stays text (YAML 1.2), dates stay text (pydantic parses them), keys are text.
    assert doc.data == {
        "a": 1,
        "b": "yes",
        "c": "2026-03-01",
        "d": 1.5,
        "e": None,
        "f": ["x", "y"],
        "2026": "year",
    }


def test_key_and_value_positions() -> None:
    doc = load_text("rules:\n  - id: a\n    where: \"kind = 'x'\"\n", file="p.yaml")
    assert str(doc.location(("rules", 0, "where"), key=True)) == "p.yaml:3:5"
    assert str(doc.location(("rules", 0, "where"))) == "p.yaml:3:12"
    # A missing key points at its parent mapping.
    assert str(doc.location(("rules", 0, "require"))) == "p.yaml:2:5"


@pytest.mark.parametrize(
    ("text", "offset", "expected"),
    [
        ("w: kind = 'x' AND amount > 1\n", 18, "p.yaml:1:22"),  # plain
        ("w: \"kind = 'x' AND amount > 1\"\n", 18, "p.yaml:1:23"),  # double quoted
        ("w: 'kind = ''x'' AND a > 1'\n", 15, "p.yaml:1:22"),  # '' stands for one quote
        ("w: |\n  kind = 'x'\n  AND amount > 1\n", 15, "p.yaml:3:7"),  # literal block
        ("w: >\n  kind = 'x'\n  AND amount > 1\n", 15, "p.yaml:1:4"),  # folded: scalar start
    ],
)
def test_offsets_inside_scalars_map_to_the_source(text: str, offset: int, expected: str) -> None:
    doc = load_text(text, file="p.yaml")
    assert str(doc.offset_location(("w",), offset)) == expected


def test_refuses_anchors_aliases_and_tags_all_at_once() -> None:
    found = problems("a: &x 1\nb: *x\nc: !!python/object:os.system ls\nd: !custom x\n")
    assert found == [
        "p.yaml:1:4: error: 不允许使用锚点 / anchors are not allowed (&x) "
        "(提示/hint: remove the anchor and write values out where they are needed)",
        "p.yaml:2:4: error: 不允许使用别名 / aliases are not allowed (*x) "
        "(提示/hint: write the value out; aliases can expand exponentially (alias bomb))",
        "p.yaml:3:4: error: 不允许使用标签 / tags are not allowed (!!python/object:os.system) "
        "(提示/hint: remove the tag; quote the value if it must stay text)",
        "p.yaml:4:4: error: 不允许使用标签 / tags are not allowed (!custom) "
        "(提示/hint: remove the tag; quote the value if it must stay text)",
    ]


def test_alias_bomb_is_refused_before_expansion() -> None:
    lines = ["a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']"]
    for index in range(1, 10):
        prev = chr(ord("a") + index - 1)
        name = chr(ord("a") + index)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    found = problems("\n".join(lines) + "\n")
    assert any("aliases are not allowed" in p for p in found)
    assert any("anchors are not allowed" in p for p in found)


def test_duplicate_keys_are_all_reported_with_the_first_line() -> None:
    found = problems("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert found == [
        "p.yaml:4:3: error: 重复的键 / duplicate key 'c' "
        "(提示/hint: first defined at line 3; keep one of them)",
        "p.yaml:5:1: error: 重复的键 / duplicate key 'a' "
        "(提示/hint: first defined at line 1; keep one of them)",
    ]


def test_too_deep(monkeypatch: pytest.MonkeyPatch) -> None:
    found = problems("x: " + "[" * 60 + "]" * 60 + "\n")
    assert len(found) == 1
    assert "nested deeper than 40 levels" in found[0]


def test_too_many_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safeyaml, "MAX_NODES", 100)
    found = problems("x: [" + ", ".join(["1"] * 200) + "]\n")
    assert len(found) == 1
    assert found[0].startswith("p.yaml:1:")
    assert found[0].endswith(
        "error: 文档过大 / document too large: more than 100 nodes "
        "(提示/hint: split the pack into several files)"
    )


def test_too_large_file(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("x: '" + "a" * (safeyaml.MAX_BYTES + 1) + "'\n", encoding="utf-8")
    with pytest.raises(UserError, match="file too large"):
        load_path(path)


def test_syntax_error_has_line_and_column() -> None:
    assert problems("a: [1, 2\nb: 3\n") == [
        "p.yaml:2:2: error: YAML 语法错误 / YAML syntax error: expected ',' or ']', but got ':' "
        "(提示/hint: check indentation and quoting; expressions with ':' or '#' need quotes)"
    ]


def test_several_documents_and_empty_files() -> None:
    assert "only one YAML document per file" in problems("a: 1\n---\nb: 2\n")[0]
    assert problems("") == ["p.yaml: error: 文件为空 / the file is empty"]


def test_complex_keys_are_refused() -> None:
    assert "keys must be plain text" in problems("? [a, b]\n: 1\n")[0]


def test_bom_and_encoding(tmp_path: Path) -> None:
    bom = tmp_path / "bom.yaml"
    bom.write_bytes("\ufeffa: 支委会\n".encode())
    assert load_path(bom).data == {"a": "支委会"}
    gbk = tmp_path / "gbk.yaml"
    gbk.write_bytes("a: 支委会\n".encode("gbk"))
    with pytest.raises(UserError, match="not UTF-8"):
        load_path(gbk)
    with pytest.raises(UserError, match="cannot read file"):
        load_path(tmp_path / "missing.yaml")
