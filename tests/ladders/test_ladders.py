"""Ladder declarations: the shipped defaults, and every way a ladder file can be wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from dualduty.errors import UserError
from rules.ladders import (
    DEFAULT_LADDERS_FILE,
    Anchor,
    Ladder,
    LadderStep,
    Recipient,
    RecipientRole,
    default_ladders,
    load_ladders,
)

ROOT = Path(__file__).resolve().parents[2]


def test_default_ladders_follow_domain_section_2() -> None:
    ladders = default_ladders()
    assert set(ladders) == {"standard", "integrity"}
    standard = ladders["standard"]
    ids = [s.id for s in standard.steps]
    assert ids == ["L0-7", "L0-1", "L1", "L2", "L3", "L4", "L5", "L6"]
    # Automation stops at L3: the first gated step is 约谈/函询.
    first_gated = next(s for s in standard.steps if s.requires_approval)
    assert first_gated.id == "L4"
    assert standard.step("L3") is not None and standard.step("L3").rectification is not None  # type: ignore[union-attr]
    # The integrity variant jumps to rectification, and its confirmation is the approval.
    integrity = [s.id for s in ladders["integrity"].steps]
    assert integrity[:2] == ["I0", "L3"]
    assert ladders["integrity"].steps[1].requires_approval


def test_bare_role_names_and_qualified_recipients() -> None:
    step = LadderStep.model_validate(
        {
            "id": "X1",
            "name": "通知",
            "name_en": "notice",
            "recipients": ["bearer", {"role": "unit_post", "post": "党委书记"}],
            "template": "t",
        }
    )
    assert step.recipients == [
        Recipient(role=RecipientRole.bearer),
        Recipient(role=RecipientRole.unit_post, post="党委书记"),
    ]
    assert step.channels == ["inbox"]
    assert step.after is Anchor.previous


@pytest.mark.parametrize(
    ("recipient", "message"),
    [
        ({"role": "unit_post"}, "'post' is required"),
        ({"role": "group"}, "'group' is required"),
        ({"role": "bearer", "group": "纪委办"}, "'group' is required for role group and only"),
        ("boss", "Input should be"),
    ],
)
def test_bad_recipients_are_rejected(recipient: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Recipient.model_validate(recipient)


def _step(step_id: str, **extra: object) -> dict[str, object]:
    return {
        "id": step_id,
        "name": "步",
        "name_en": "step",
        "recipients": ["bearer"],
        "template": "t",
        **extra,
    }


def _pack_schema_for(definition: str) -> dict[str, Any]:
    """The published pack schema (docs/rule-pack.schema.json), rooted at one definition."""
    published = json.loads((ROOT / "docs" / "rule-pack.schema.json").read_text(encoding="utf-8"))
    return {"$defs": published["$defs"], "$ref": f"#/$defs/{definition}"}


def test_the_schema_accepts_bare_role_names_as_the_model_does() -> None:
    """Editors validate YAML with the published schema: a bare ``bearer`` must not be
    underlined, and what the model refuses should be refused there too."""
    recipient = _pack_schema_for("Recipient")
    for accepted in ["bearer", "inspectors", {"role": "unit_post", "post": "党委书记"}]:
        jsonschema.validate(accepted, recipient)
        Recipient.model_validate(accepted)
    for refused in ["unit_post", "group", "nobody", {"role": "bearer", "extra": 1}]:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(refused, recipient)
        with pytest.raises(ValueError):
            Recipient.model_validate(refused)
    # The shipped ladders, written with bare names, are valid ladders by the schema.
    yaml = YAML(typ="safe")
    shipped = yaml.load(DEFAULT_LADDERS_FILE.read_text(encoding="utf-8"))
    for ladder in shipped["ladders"].values():
        jsonschema.validate(ladder, _pack_schema_for("Ladder"))


def test_gated_steps_stay_gated() -> None:
    with pytest.raises(ValueError, match="step B follows a step that requires approval"):
        Ladder.model_validate(
            {"name": "x", "name_en": "x", "steps": [_step("A", requires_approval=True), _step("B")]}
        )


def test_duplicate_step_ids_and_negative_delay_without_deadline() -> None:
    with pytest.raises(ValueError, match="repeated: A"):
        Ladder.model_validate({"name": "x", "name_en": "x", "steps": [_step("A"), _step("A")]})
    with pytest.raises(ValueError, match="negative delay counts back from the deadline"):
        LadderStep.model_validate(_step("A", delay=-1))


def test_a_step_cannot_carry_an_accountability_form() -> None:
    # Forms are recorded only by decisions: there is no field for them, and extra keys fail.
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        LadderStep.model_validate(_step("A", form="诫勉"))


def test_file_problems_carry_line_and_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "ladders.yaml"
    path.write_text(
        "ladders:\n"
        "  mine:\n"
        "    name: 我的\n"
        "    name_en: mine\n"
        "    steps:\n"
        "      - id: A\n"
        "        name: 提醒\n"
        "        name_en: remind\n"
        "        recipients: [bearer]\n"
        "        templte: ladder/x\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError) as caught:
        load_ladders(path)
    problems = caught.value.problems
    by_field = {p.field: p for p in problems}
    assert set(by_field) == {"ladders.mine.steps[0].template", "ladders.mine.steps[0].templte"}
    typo = by_field["ladders.mine.steps[0].templte"]
    assert typo.location is not None and typo.location.line == 10
    assert typo.hint is not None and "template" in typo.hint
    assert by_field["ladders.mine.steps[0].template"].location.line == 6  # type: ignore[union-attr]


def test_yaml_syntax_error_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("ladders:\n  a: [unclosed\n", encoding="utf-8")
    with pytest.raises(UserError, match="YAML syntax error") as caught:
        load_ladders(path)
    assert caught.value.problems[0].location.line is not None  # type: ignore[union-attr]
    with pytest.raises(UserError, match="ladders file not found"):
        load_ladders(tmp_path / "absent.yaml")


def test_default_ladders_use_existing_message_templates() -> None:
    from notifiers.rendering import template_names

    used = {step.template for ladder in default_ladders().values() for step in ladder.steps}
    assert used - set(template_names()) == set()
