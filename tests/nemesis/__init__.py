"""The nemesis suite: two of every service under crashes, pauses, partitions and rebalances.

``make nemesis`` (or ``python -m tests.nemesis``) runs it; docs/nemesis.md says what it
does and checks. Not part of ``make test``: it takes minutes, needs root (network
namespaces) and iproute2.
"""
