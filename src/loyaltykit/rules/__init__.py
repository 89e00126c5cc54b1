"""Rules: the program format and the pure functions that evaluate it.

Nothing in this package does I/O or reads a clock: every function takes the facts and the
instant it needs and returns a decision with its explanation.
"""
