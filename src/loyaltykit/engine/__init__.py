"""The engine: events in time order -> rules -> ledger postings, replay and incremental."""
