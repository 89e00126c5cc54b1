"""The ``loyaltykit`` command line (the app itself is in :mod:`loyaltykit.cli.main`).

This package module stays import-light so command modules elsewhere (adapters, the testing
kit) can share :mod:`loyaltykit.cli.options` without importing every other command.
"""
