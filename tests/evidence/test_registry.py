"""The source registry: every kind documents a YAML example, and the example validates."""

from __future__ import annotations

import re
import typing

import pytest
from pydantic import TypeAdapter
from ruamel.yaml import YAML

from evidence.sources import AnySource, BaseSource, kinds
from evidence.types import EvidenceType

EXAMPLE = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def test_the_union_and_the_registry_agree() -> None:
    (union, _discriminator) = typing.get_args(AnySource)
    in_union = {typing.get_args(member)[0] for member in typing.get_args(union)}
    assert in_union == set(kinds().values())
    for kind, cls in kinds().items():
        assert cls.model_fields["kind"].default == kind


@pytest.mark.parametrize("kind", sorted(kinds()))
def test_each_kind_has_a_yaml_example_that_validates(kind: str) -> None:
    cls: type[BaseSource] = kinds()[kind]
    match = EXAMPLE.search(cls.__doc__ or "")
    assert match, f"{cls.__name__} docstring needs a ```yaml example"
    example = YAML(typ="safe", pure=True).load(match.group(1))
    parsed = TypeAdapter(AnySource).validate_python(example["source"])
    assert isinstance(parsed, cls)


def test_the_evidence_type_example_validates() -> None:
    match = EXAMPLE.search(EvidenceType.__doc__ or "")
    assert match
    (name, body), *_ = YAML(typ="safe", pure=True).load(match.group(1)).items()
    declared = EvidenceType.model_validate(body)
    assert name == "meeting" and declared.source is not None and declared.source.kind == "file"
