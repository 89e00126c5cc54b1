"""The ledger on PostgreSQL: migrations, many workers at once, crashes, the outbox."""
