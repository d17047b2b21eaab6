"""Errors of the drills."""


class DrillError(Exception):
    """A drill could not carry out a step (a fault it injects, a wait that timed out)."""
