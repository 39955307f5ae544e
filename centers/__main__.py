"""`python -m centers`: the same as the `centers` console script."""

from centers.main import main

main()
