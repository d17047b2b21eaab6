"""The region's shock absorber: a queue with a dead-letter queue, one module per cloud.

Overload turns into queue lag instead of errors: producers in the cells enqueue work that
consumers drain at their own pace, and a message that keeps failing moves to the
dead-letter queue after a bounded number of deliveries instead of blocking the queue.
"""

import importlib
from dataclasses import dataclass

import pulumi


@dataclass
class QueueArgs:
    """Delivery and retention settings of the shock-absorber queue."""

    max_receive_count: int | None = 5
    """Deliveries of one message before it moves to the dead-letter queue."""
    message_retention_seconds: int | None = 4 * 24 * 3600
    """How long the queue keeps a message nobody consumed."""
    visibility_timeout_seconds: int | None = 60
    """How long a consumer has to acknowledge a message before it is delivered again."""
    dead_letter_retention_seconds: int | None = 14 * 24 * 3600
    """How long the dead-letter queue keeps a message for inspection."""


@dataclass(frozen=True)
class ShockAbsorber:
    queue_id: pulumi.Output[str]
    """Queue URL (SQS) or topic id (Pub/Sub) that producers send to."""
    queue_arn: pulumi.Output[str]
    """ARN (SQS) or subscription id (Pub/Sub) that consumers read from."""
    dead_letter_id: pulumi.Output[str]


def create_shock_absorber(
    cloud: str,
    name: str,
    args: QueueArgs,
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
    key_id: pulumi.Input[str] | None = None,
    project: str | None = None,
) -> ShockAbsorber:
    """Create the queue and its dead-letter queue with `cloud`'s messaging service."""
    module = importlib.import_module(f"components.queue.{cloud}")
    return module.create(name, args, labels, opts, key_id=key_id, project=project)
