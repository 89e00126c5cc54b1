"""Why an order earned what it earned, and where a customer stands: every rule, fired or not.

A support agent asked "why did this order earn 312 points?" needs more than the total: which
multipliers and bonuses applied, with the inputs they saw (the order's day in the shop's
timezone, the customer's tier at the time), and why each of the others did not. The numbers
come from the same pure functions the engine uses (:mod:`loyaltykit.rules.earning`,
:mod:`loyaltykit.rules.tiers`), so an explanation cannot drift from what the engine does;
only the sentences are added here. Facts are passed in: nothing here reads a ledger or a clock.

:mod:`~loyaltykit.rules.explain.orders` explains one order and
:mod:`~loyaltykit.rules.explain.customers` one customer; import both from here.
"""

from loyaltykit.rules.explain.customers import (
    CustomerExplanation,
    CustomerFacts,
    ReferralFacts,
    explain_customer,
)
from loyaltykit.rules.explain.orders import OrderExplanation, OrderFacts, Outcome, explain_order

__all__ = [
    "CustomerExplanation", "CustomerFacts", "OrderExplanation", "OrderFacts", "Outcome",
    "ReferralFacts", "explain_customer", "explain_order",
]
