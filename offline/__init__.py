"""Offline preview: run the reference program in-process on Pulumi's mock engine.

`offline.engine.run_program` evaluates a program with a stack's config in preview or update
mode and returns a `Recording` of every registered resource. `offline.preview` is the
command line behind `scripts/preview`.
"""

from offline.engine import ProgramFailed, run_program
from offline.recorder import UNKNOWN, Recording, ResourceRecord

__all__ = ["UNKNOWN", "ProgramFailed", "Recording", "ResourceRecord", "run_program"]
