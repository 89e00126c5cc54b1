"""``python -m loyaltykit``: the same command line as the ``loyaltykit`` script."""

from loyaltykit.cli.main import main

main()
