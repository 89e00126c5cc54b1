"""loyaltykit: referral incentives, points and membership tiers for shops, as a library.

Import from here; the submodules are implementation. The documented subpackages are
:mod:`loyaltykit.testing` (builders, in-memory ledger, conformance suites) and
:mod:`loyaltykit.adapters` (platform adapters).
"""

from loyaltykit.clock import Clock, FixedClock, SystemClock
from loyaltykit.commands import Command, IssueDiscount, SetCustomerTags, UpdateCustomerProfile
from loyaltykit.errors import (
    ConfigurationError,
    Diagnostic,
    InputError,
    InputProblem,
    LoyaltyKitError,
    NotFoundError,
    PermanentPlatformError,
    PlatformError,
    ProgramError,
    RejectedError,
    TransientPlatformError,
)
from loyaltykit.events import (
    CustomerUpserted,
    Event,
    OrderCancelled,
    OrderLine,
    OrderPaid,
    OrderRefunded,
    PointsRedeemed,
    ReferralRecorded,
)
from loyaltykit.ledger import Ledger, RunResult, open_ledger
from loyaltykit.ledger.queries import CustomerRow, CustomerView, EntryView, Report
from loyaltykit.rules.loader import load_program, load_programs, validate_program_text
from loyaltykit.rules.program import Program, json_schema

__version__ = "0.1.0"

__all__ = [
    "Clock",
    "Command",
    "ConfigurationError",
    "CustomerRow",
    "CustomerUpserted",
    "CustomerView",
    "Diagnostic",
    "EntryView",
    "Event",
    "FixedClock",
    "InputError",
    "InputProblem",
    "IssueDiscount",
    "Ledger",
    "LoyaltyKitError",
    "NotFoundError",
    "OrderCancelled",
    "OrderLine",
    "OrderPaid",
    "OrderRefunded",
    "PermanentPlatformError",
    "PlatformError",
    "PointsRedeemed",
    "Program",
    "ProgramError",
    "ReferralRecorded",
    "RejectedError",
    "Report",
    "RunResult",
    "SetCustomerTags",
    "SystemClock",
    "TransientPlatformError",
    "UpdateCustomerProfile",
    "json_schema",
    "load_program",
    "load_programs",
    "open_ledger",
    "validate_program_text",
]
