"""AWS part of the shock absorber: an SQS queue with a redrive policy to a dead-letter queue."""

import json

import pulumi
import pulumi_aws as aws

from components.queue import QueueArgs, ShockAbsorber


def create(
    name: str,
    args: QueueArgs,
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
    *,
    key_id: pulumi.Input[str] | None = None,
    project: str | None = None,
) -> ShockAbsorber:
    # SSE-SQS when no key is given, so messages are encrypted at rest either way.
    encryption = (
        {"kms_master_key_id": key_id, "kms_data_key_reuse_period_seconds": 300}
        if key_id is not None
        else {"sqs_managed_sse_enabled": True}
    )
    dead_letter = aws.sqs.Queue(
        f"{name}-dlq",
        message_retention_seconds=args.dead_letter_retention_seconds,
        tags=labels,
        opts=opts,
        **encryption,
    )
    queue = aws.sqs.Queue(
        name,
        message_retention_seconds=args.message_retention_seconds,
        visibility_timeout_seconds=args.visibility_timeout_seconds,
        # Long polling: consumers wait up to 20 s for a message instead of spinning.
        receive_wait_time_seconds=20,
        redrive_policy=dead_letter.arn.apply(
            lambda arn: json.dumps(
                {"deadLetterTargetArn": arn, "maxReceiveCount": args.max_receive_count}
            )
        ),
        tags=labels,
        opts=opts,
        **encryption,
    )
    aws.sqs.RedriveAllowPolicy(
        f"{name}-dlq-allow",
        queue_url=dead_letter.url,
        redrive_allow_policy=queue.arn.apply(
            lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
        ),
        opts=opts,
    )
    return ShockAbsorber(queue_id=queue.url, queue_arn=queue.arn, dead_letter_id=dead_letter.url)
