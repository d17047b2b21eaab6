"""Benchmarks of the architecture's performance claims, each against a baseline of the same run.

`scripts/bench` runs them all: the cost of authorization at the edge (`edge`), the time from
publishing a bundle to its enforcement in every cell (`propagation`), and how the offline
preview and the policy pack scale with the number of cells (`scale`).
"""
