"""The public API is a promise: this test makes every change to it deliberate."""

import loyaltykit

EXPECTED = [
    "Clock", "Command", "ConfigurationError", "CustomerRow", "CustomerUpserted",
    "CustomerView", "Diagnostic", "EntryView", "Event", "FixedClock", "InputError",
    "InputProblem", "IssueDiscount", "Ledger", "LoyaltyKitError", "NotFoundError",
    "OrderCancelled", "OrderLine", "OrderPaid", "OrderRefunded", "PermanentPlatformError",
    "PlatformError", "PointsRedeemed", "Program", "ProgramError", "ReferralRecorded",
    "RejectedError", "Report", "RunResult", "SetCustomerTags", "SystemClock",
    "TransientPlatformError", "UpdateCustomerProfile", "json_schema", "load_program",
    "load_programs", "open_ledger", "validate_program_text",
]


def test_public_names_are_exactly_the_curated_sorted_list():
    assert loyaltykit.__all__ == EXPECTED
    assert sorted(loyaltykit.__all__) == loyaltykit.__all__


def test_every_public_name_resolves():
    for name in loyaltykit.__all__:
        assert getattr(loyaltykit, name) is not None


def test_errors_form_one_tree_grouped_by_what_to_do():
    for name in ("ConfigurationError", "InputError", "NotFoundError", "RejectedError",
                 "PlatformError"):
        assert issubclass(getattr(loyaltykit, name), loyaltykit.LoyaltyKitError)
    assert issubclass(loyaltykit.ProgramError, loyaltykit.ConfigurationError)
    assert loyaltykit.TransientPlatformError.retriable
    assert not loyaltykit.PermanentPlatformError.retriable


def test_the_readme_example_runs(tmp_path):
    from datetime import datetime, timezone
    from decimal import Decimal

    program = loyaltykit.load_program("src/loyaltykit/samples/program.yaml")
    with loyaltykit.open_ledger(tmp_path / "shop.db", program) as ledger:
        ledger.ingest([
            loyaltykit.CustomerUpserted("c1", datetime(2025, 1, 1, tzinfo=timezone.utc),
                                        email="a@x.com"),
            loyaltykit.OrderPaid("o1", "c1", datetime(2025, 1, 2, tzinfo=timezone.utc),
                                 Decimal("129.00"), "CNY"),
        ])
        ledger.run(datetime(2025, 2, 1, tzinfo=timezone.utc))
        view = ledger.customer("c1")
    assert (view.balance, view.tier, view.segment) == (129 + 100, "member", "active")
    assert str(view.progress) == "871.00 CNY more net spend or 4 more paid orders to silver"
