"""Platform adapters: platform data -> normalized events; outbox commands -> platform calls.

Adapters import :mod:`loyaltykit.events` and :mod:`loyaltykit.commands` and talk to the
ledger only through the two small protocols in :mod:`loyaltykit.adapters.base`; they never
see rules.
"""
