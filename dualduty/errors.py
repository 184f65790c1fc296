"""The exception hierarchy: user errors apart from failures to run.

    DualdutyError                 base of everything we raise on purpose
    ├── UserError                 the input is wrong; exit code 2; carries Problems
    │   └── NotFoundError         a named thing (unit, pack, case, channel) does not exist
    ├── ConflictError             someone else changed it first (stale decision, overlapping post)
    └── RunError                  could not run (source down, server unreachable); exit code 1

Delivery has its own pair in ``notifiers.base``: RetryableError and PermanentError.
"""

from __future__ import annotations

from dualduty.problems import Problem, render


class DualdutyError(Exception):
    exit_code = 1


class UserError(DualdutyError):
    """Bad input. The message lists every problem with where it is and what to do."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | str, *, hint: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(message=problems, hint=hint)]
        self.problems: list[Problem] = problems
        super().__init__(render(problems))


class NotFoundError(UserError):
    pass


class ConflictError(DualdutyError):
    exit_code = 3


class RunError(DualdutyError):
    exit_code = 1
