"""The ``loyaltykit`` command line: every command group mounted on one typer app.

Exit codes: 0 success, 1 tests or checks failed, 2 a program, input file or setting needs
fixing, 3 a ``simulate --fail-if`` gate tripped, 4 not found or refused by the ledger,
5 a shop platform failed.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from loyaltykit.adapters.shopify.cli import app as shopify_app
from loyaltykit.adapters.taobao.cli import app as taobao_app
from loyaltykit.adapters.woocommerce import app as woocommerce_app
from loyaltykit.cli import db_commands, ledger_commands, program_commands
from loyaltykit.errors import (
    ConfigurationError,
    InputError,
    LoyaltyKitError,
    NotFoundError,
    PlatformError,
    ProgramError,
    RejectedError,
)
from loyaltykit.testing import cli as testing_cli
from loyaltykit.whatif import cli as whatif_cli

app = typer.Typer(
    name="loyaltykit", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Points, tiers and referrals for shops: rules as YAML, an append-only ledger.")

program_commands.register(app)
ledger_commands.register(app)
testing_cli.register(app)
db_commands.register(app)
whatif_cli.register(app)
app.add_typer(shopify_app, name="shopify", help="Sync customers and orders from Shopify; "
              "push discount codes, tags and metafields.")
app.add_typer(woocommerce_app, name="woocommerce", help="Sync customers and orders from "
              "WooCommerce; push coupons and customer meta.")
app.add_typer(taobao_app, name="taobao", help="Taobao/Tmall seller-center exports: import "
              "reports, export upload lists.")

err = Console(stderr=True)


def _exit_code(error: LoyaltyKitError) -> int:
    if isinstance(error, (ConfigurationError, InputError)):
        return 2
    if isinstance(error, (NotFoundError, RejectedError)):
        return 4
    if isinstance(error, PlatformError):
        return 5
    return 1


def main() -> None:
    try:
        # without standalone mode click returns the code of typer.Exit instead of exiting
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except ProgramError as error:
        for diagnostic in error.diagnostics:
            err.print(str(diagnostic), markup=False, highlight=False)
        sys.exit(2)
    except LoyaltyKitError as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        sys.exit(_exit_code(error))
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except Exception as error:
        # usage errors (bad option value, missing argument) know how to show themselves;
        # typer vendors its own click, so match the shape instead of click's class
        show, code = getattr(error, "show", None), getattr(error, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        raise


if __name__ == "__main__":
    main()
