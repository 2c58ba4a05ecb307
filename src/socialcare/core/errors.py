"""The errors a user may see. Everything else is a bug and shows a generic error page.

The web layer maps these to HTTP statuses and friendly pages/JSON; the CLI prints them in red.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: which file, which row, which field, and why."""

    message: str
    field: str | None = None
    row: int | None = None
    file: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field '{self.field}'")
        return (", ".join(where) + ": " if where else "") + self.message

    def as_dict(self) -> dict:
        return {"file": self.file, "row": self.row, "field": self.field, "message": self.message}


class SocialcareError(Exception):
    """Base class: a message meant for the user."""

    status_code = 400
    title = "Request refused"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(SocialcareError):
    status_code = 404
    title = "Not found"


class Forbidden(SocialcareError):
    status_code = 403
    title = "Not allowed"


class Unauthorized(SocialcareError):
    status_code = 401
    title = "Please sign in"


class Conflict(SocialcareError):
    """Somebody else changed the record first, or the same thing was already done."""

    status_code = 409
    title = "Conflict"


class Busy(SocialcareError):
    """The database did not answer in time (a long statement, a row another request holds): try again."""

    status_code = 503
    title = "Busy"


def from_database_error(exc: BaseException) -> SocialcareError | None:
    """The user-facing error a database error stands for (None: a bug). Lock and statement timeouts,
    serialization failures and deadlocks are a busy record, never a hang; a unique violation is the same
    thing done twice; a value the database cannot hold (a number beyond 32 bits, a NUL byte) is bad input."""
    orig = getattr(exc, "orig", None) or exc  # SQLAlchemy's wrapper, or the driver's own (COPY, raw cursors)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    text = str(orig or exc)
    if state in ("55P03", "40001", "40P01") or "database is locked" in text:
        return Conflict("Someone else is changing this record right now; reload and try again.")
    if state == "57014":
        return Busy("The server is busy and the request took too long; try again in a moment.")
    if state == "23505" or "UNIQUE constraint failed" in text:
        return Conflict("This was already recorded (the same thing was sent twice).")
    if state == "23503" or "FOREIGN KEY constraint failed" in text:
        return InvalidInput("A record it refers to does not exist.", [Problem("refers to a record that does not exist")])
    if (state or "").startswith("22") or "NUL" in text or "out of range" in text:
        return InvalidInput("A value is not one the database can hold.",
                            [Problem("a value is out of range or contains a character that is not allowed")])
    return None


@dataclass
class InvalidInput(SocialcareError):
    """Input rejected as a whole; ``problems`` lists every bad file/row/field found."""

    message: str
    problems: list[Problem] = field(default_factory=list)
    status_code: int = 422
    title: str = "Input rejected"

    def __post_init__(self):
        Exception.__init__(self, self.message)

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message] + [f"  - {p}" for p in self.problems[:200]]
        if len(self.problems) > 200:
            lines.append(f"  ... and {len(self.problems) - 200} more")
        return "\n".join(lines)
