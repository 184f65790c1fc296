"""API shapes that differ from the ORM rows they are read from (``from_attributes``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from models.users import Role


class Me(BaseModel):
    """A user as the API shows them: never the password hash."""

    model_config = ConfigDict(from_attributes=True)

    username: str
    display_name: str
    role: Role
    jurisdiction: str | None
    person_code: str | None
