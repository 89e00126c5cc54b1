"""Terminal rendering of reports and customer views (rich tables)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from loyaltykit.ledger.queries import CustomerView, Report


def print_report(console: Console, report: Report) -> None:
    console.print(f"[bold]{report.program}[/] as of {report.as_of.isoformat()}: "
                  f"{report.customers} customers")
    tiers = Table("tier", "customers", title="Customers per tier")
    for tier, count in report.tiers.items():
        tiers.add_row(tier, str(count))
    segments = Table("segment", "customers", title="Customers per segment")
    for segment, count in report.segments.items():
        segments.add_row(segment, str(count))
    console.print(tiers, segments)
    points = Table("kind", "points", title="Points")
    for kind, total in report.points.items():
        points.add_row(kind, f"{total:+,}")
    points.add_row("forgiven (not covered by the balance)", f"{report.forgiven:,}")
    value = f" = {report.liability_value} {report.currency}" if report.liability_value else ""
    points.add_row("[bold]liability (outstanding balance)[/]",
                   f"[bold]{report.liability_points:,}{value}[/]")
    console.print(points)
    refs = Table("referrer", "rewarded referrals", "points", title="Top referrers")
    for row in report.top_referrers:
        refs.add_row(row["customer_id"], str(row["rewarded_referrals"]), str(row["points"]))
    console.print(refs)
    status = ", ".join(f"{k} {v}" for k, v in sorted(report.referrals.items()))
    console.print(f"Referrals: {status or 'none'}")
    flagged = Table("referee", "referrer", "status", "reason",
                    title=f"Flagged or void referrals ({len(report.flagged_referrals)})")
    for row in report.flagged_referrals:
        flagged.add_row(row["referee_id"], row["referrer_id"] or "-", row["status"],
                        row["reason"] or "")
    console.print(flagged)
    orders = ", ".join(f"{k} {v}" for k, v in sorted(report.orders.items()))
    console.print(f"Orders: {orders or 'none'}; rejected events: {report.rejected_events}; "
                  f"commands waiting in the outbox: {report.pending_commands}")


def print_customer(console: Console, view: CustomerView) -> None:
    console.print(f"[bold]{view.customer_id}[/]: {view.balance:,} points, tier "
                  f"{view.tier or '-'} ({view.discount_percent}% discount), segment "
                  f"{view.segment}, lifetime earned {view.lifetime_earned:,}")
    if view.progress is not None:
        console.print(f"Next tier: {view.progress}")
    if view.next_expiry is not None:
        console.print(f"{view.next_expiry[1]:,} points expire {view.next_expiry[0]:%Y-%m-%d}")
    if view.referred_by is not None:
        referrer, status, reason = view.referred_by
        console.print(f"Referred by {referrer or '?'}: {status}" + (f" ({reason})" if reason
                                                                   else ""))
    table = Table("when (UTC)", "points", "balance", "kind", "rule", "ver", "reason",
                  title="Ledger history")
    for e in view.history:
        table.add_row(f"{e.effective_at:%Y-%m-%d %H:%M}", f"{e.points:+,}",
                      f"{e.balance_after:,}", e.kind, e.rule_id, str(e.program_version),
                      e.reason)
    console.print(table)
    tiers = Table("when (UTC)", "from", "to", "why", title="Tier changes")
    for when, before, after, reason in view.tier_history:
        tiers.add_row(f"{when:%Y-%m-%d %H:%M}", before or "-", after, reason)
    console.print(tiers)
