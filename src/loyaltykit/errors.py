"""One exception tree, grouped by what the caller should do about it.

::

    LoyaltyKitError
    ├── ConfigurationError        fix the program file, settings or credentials, then run again
    │   └── ProgramError          .diagnostics: every problem of a program file at once
    ├── InputError                fix the input data; .problems name file, line and field
    ├── NotFoundError             the customer, order or reward asked for does not exist
    ├── RejectedError             a well-formed request the ledger refuses (not enough points)
    └── PlatformError             a shop platform failed; .retriable says whether to try again
        ├── TransientPlatformError    throttled, 5xx, timeout: retry later, nothing was lost
        └── PermanentPlatformError    auth, validation: retrying the same call will not help

Errors never carry secrets: adapters redact tokens before building a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a program file.

    ``code`` is stable across releases (``LK1xx`` structure, ``LK2xx`` semantics) so CI
    configurations and editors can match on it.
    """

    code: str
    message: str
    path: str = ""
    line: int | None = None
    column: int | None = None
    hint: str = ""
    file: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file or "<program>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.severity} {self.code}: {self.message}"
        if self.path:
            text += f" (at {self.path})"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


@dataclass(frozen=True, slots=True)
class InputProblem:
    """One bad value in an input file: where it is, what is wrong, and how to fix it."""

    file: str
    line: int | None
    field: str | None
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f" [{self.field}]"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class LoyaltyKitError(Exception):
    """Root of every error loyaltykit raises on purpose."""


class ConfigurationError(LoyaltyKitError):
    """The program, settings or credentials need fixing before anything can run."""


class ProgramError(ConfigurationError):
    """A program file has problems; all of them are in ``diagnostics``."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        count = len(self.diagnostics)
        lines = "\n".join(str(d) for d in self.diagnostics)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in program:\n{lines}")


class InputError(LoyaltyKitError):
    """Input data is malformed; nothing from the offending file was written."""

    def __init__(self, problems: Sequence[InputProblem], *, limit: int = 20) -> None:
        self.problems = tuple(problems)
        shown = "\n".join(str(p) for p in self.problems[:limit])
        more = len(self.problems) - limit
        if more > 0:
            shown += f"\n... and {more} more"
        super().__init__(shown)


class NotFoundError(LoyaltyKitError):
    """The customer, order, reward or program version asked for does not exist."""


class RejectedError(LoyaltyKitError):
    """A well-formed request that the ledger refuses, e.g. redeeming more points than held."""


class PlatformError(LoyaltyKitError):
    """A shop platform call failed.

    ``status`` and ``request_id`` come from the platform's answer when there was one.
    """

    retriable = False

    def __init__(
        self, message: str, *, status: int | None = None, request_id: str | None = None,
        code: str | None = None,
    ) -> None:
        self.status = status
        self.request_id = request_id
        self.code = code
        suffix = []
        if status is not None:
            suffix.append(f"HTTP {status}")
        if code:
            suffix.append(code)
        if request_id:
            suffix.append(f"request id {request_id}")
        super().__init__(message + (f" ({', '.join(suffix)})" if suffix else ""))


class TransientPlatformError(PlatformError):
    """Throttled, a server error or a timeout: the same call may succeed later."""

    retriable = True


class PermanentPlatformError(PlatformError):
    """Authentication or a rejected request: retrying the same call will not help."""
