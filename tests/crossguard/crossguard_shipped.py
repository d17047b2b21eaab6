"""The shipped stacks, each recorded once per session and mode, with the pack's report."""

import functools

from offline.stack_config import shipped_stacks
from policies.crossguard.offline import record_stack, run
from policies.crossguard.report import Report

SHIPPED_STACKS = shipped_stacks()


@functools.cache
def shipped_report(stack: str, preview: bool) -> Report:
    """Return the pack's report on a shipped stack, recorded on the first request."""
    recording, config = record_stack(stack, preview=preview)
    return run(recording, stack_config=config)
