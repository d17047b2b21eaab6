"""GCP part of the shock absorber: a Pub/Sub topic and subscription with a dead-letter topic."""

import pulumi
import pulumi_gcp as gcp

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
    retention = f"{args.message_retention_seconds}s"
    dead_letter = gcp.pubsub.Topic(
        f"{name}-dlq",
        project=project,
        kms_key_name=key_id,
        message_retention_duration=f"{args.dead_letter_retention_seconds}s",
        labels=labels,
        opts=opts,
    )
    topic = gcp.pubsub.Topic(
        name,
        project=project,
        kms_key_name=key_id,
        message_retention_duration=retention,
        labels=labels,
        opts=opts,
    )
    subscription = gcp.pubsub.Subscription(
        f"{name}-consumers",
        project=project,
        topic=topic.id,
        ack_deadline_seconds=args.visibility_timeout_seconds,
        message_retention_duration=retention,
        dead_letter_policy={
            "dead_letter_topic": dead_letter.id,
            "max_delivery_attempts": args.max_receive_count,
        },
        # Redelivery backs off instead of hammering a consumer that is already overloaded.
        retry_policy={"minimum_backoff": "10s", "maximum_backoff": "600s"},
        expiration_policy={"ttl": ""},
        labels=labels,
        opts=opts,
    )
    dead_letter_subscription = gcp.pubsub.Subscription(
        f"{name}-dlq-inspect",
        project=project,
        topic=dead_letter.id,
        message_retention_duration=f"{args.dead_letter_retention_seconds}s",
        expiration_policy={"ttl": ""},
        labels=labels,
        opts=opts,
    )
    # Pub/Sub moves a message to the dead-letter topic as its own service agent, which must
    # be allowed to publish there and to acknowledge the message on the subscription.
    project_number = gcp.organizations.get_project_output(
        project_id=project,
        opts=pulumi.InvokeOutputOptions(parent=opts.parent, provider=opts.provider),
    ).number
    agent = project_number.apply(
        lambda number: f"serviceAccount:service-{number}@gcp-sa-pubsub.iam.gserviceaccount.com"
    )
    gcp.pubsub.TopicIAMMember(
        f"{name}-dlq-publisher",
        project=project,
        topic=dead_letter.name,
        role="roles/pubsub.publisher",
        member=agent,
        opts=opts,
    )
    gcp.pubsub.SubscriptionIAMMember(
        f"{name}-consumers-subscriber",
        project=project,
        subscription=subscription.name,
        role="roles/pubsub.subscriber",
        member=agent,
        opts=opts,
    )
    return ShockAbsorber(
        queue_id=topic.id,
        queue_arn=subscription.id,
        dead_letter_id=dead_letter_subscription.id,
    )
