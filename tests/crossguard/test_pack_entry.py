"""The pack's policies and metadata, its entry point, and the pack served as the CLI serves it.

The served pack runs in a process of its own, started the way the Pulumi CLI's Python policy
host starts it (`python -m pulumi.policy ENGINE .` in the pack's directory). It binds
127.0.0.1 on a free port, prints the port, and is stopped by its process id.
"""

import json
import os
import runpy
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_policy
import pytest
from crossguard_harness import STACK, aws_provider, kube_provider, run_pack, tags
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from offline import run_program
from offline.mocks import CloudMocks
from policies.crossguard.engine_args import EngineView
from policies.crossguard.offline import run
from policies.crossguard.pack import PACK_NAME, RULES, policies

PACK_DIRECTORY = Path(__file__).resolve().parents[2] / "policies" / "crossguard"
ADVISORY_RULES = {"i05-persistence-survives-pod"}
START_TIMEOUT_SECONDS = 60
# The served-versus-offline comparison runs its program as a staging stack.
STAGING = {"cellarch:environment": "staging"}


def test_policies_cover_every_invariant():
    assert {rule.invariant for rule in RULES} == {f"I{n}" for n in range(1, 12)}


def test_policy_names_are_unique():
    names = [policy.name for policy in policies()]

    assert len(names) == len(set(names)) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_policy_metadata(rule):
    policy = rule.policy()

    assert policy.name.startswith(f"i{int(rule.invariant[1:]):02d}-")
    assert policy.description
    assert policy.tags == [rule.invariant]
    expected = "advisory" if rule.name in ADVISORY_RULES else "mandatory"
    assert policy.enforcement_level.value == expected
    assert rule.checks, "a rule says what it checks on at least one cloud"


def test_every_cloud_has_rules():
    clouds = {cloud for rule in RULES for cloud in rule.checks}

    assert clouds == {"aws", "gcp", "kubernetes"}


def test_entry_point_constructs_one_pack(monkeypatch):
    constructed = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: constructed.append(kwargs))

    runpy.run_path(str(PACK_DIRECTORY / "__main__.py"), run_name="__main__")

    assert len(constructed) == 1
    assert constructed[0]["name"] == PACK_NAME
    assert [p.name for p in constructed[0]["policies"]] == [r.name for r in RULES]
    assert constructed[0]["enforcement_level"].value == "mandatory"


@pytest.fixture(scope="module")
def served_pack():
    """Start the pack as the CLI does and return a stub of its Analyzer service."""
    environment = {
        **os.environ,
        "PULUMI_CONFIG": json.dumps(STAGING),
        "PYTHONPATH": "",
    }
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
        cwd=PACK_DIRECTORY,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    channel = None
    try:
        port = _read_port(process)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=START_TIMEOUT_SECONDS)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        if channel is not None:
            channel.close()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _read_port(process: subprocess.Popen) -> int:
    """Return the port the pack prints first; the read ends when the process exits."""
    line = process.stdout.readline()
    if not line.strip().isdigit():
        process.kill()
        raise AssertionError(f"the pack printed {line!r}, stderr: {process.stderr.read()[-2000:]}")
    return int(line)


def test_served_pack_lists_its_policies(served_pack):
    info = served_pack.GetAnalyzerInfo(empty_pb2.Empty())

    assert info.name == PACK_NAME
    levels = {p.name: analyzer_pb2.EnforcementLevel.Name(p.enforcementLevel) for p in info.policies}
    assert levels == {
        r.name: "ADVISORY" if r.name in ADVISORY_RULES else "MANDATORY" for r in RULES
    }


def _violating_program() -> None:
    """A cell VPC overlapping another, a public database and a bare ConfigMap."""
    options = pulumi.ResourceOptions(provider=aws_provider())
    aws.ec2.Vpc("vpc-1", cidr_block="10.1.0.0/16", tags=tags("data", "cell-1"), opts=options)
    aws.ec2.Vpc("vpc-2", cidr_block="10.1.128.0/17", tags=tags("data", "cell-2"), opts=options)
    aws.rds.Instance(
        "db",
        engine="postgres",
        instance_class="db.r6g.large",
        publicly_accessible=True,
        tags=tags("data", "cell-1"),
        opts=options,
    )
    k8s.core.v1.ConfigMap(
        "unlabelled",
        metadata={"name": "x"},
        data={},
        opts=pulumi.ResourceOptions(provider=kube_provider()),
    )


def test_served_pack_reports_what_offline_run_reports(served_pack):
    config = STAGING
    recording = run_program(
        _violating_program, stack=STACK, config=config, preview=False, mocks=CloudMocks(False)
    )
    offline = run(recording, stack_config=config)
    engine = EngineView(recording, config)
    served = []
    for record in recording.resources:
        args = engine.resource_args(record, None)
        request = analyzer_pb2.AnalyzeRequest(
            type=record.type,
            properties=_struct(record.inputs),
            urn=record.urn,
            name=record.name,
            options=analyzer_pb2.AnalyzerResourceOptions(protect=False),
            provider=_provider(args.provider),
        )
        for diagnostic in served_pack.Analyze(request).diagnostics:
            served.append((diagnostic.policyName, record.urn, diagnostic.message))
    stack_request = analyzer_pb2.AnalyzeStackRequest(
        resources=[_stack_resource(record, engine) for record in recording.resources]
    )
    stack_urn = next(r.urn for r in recording.resources if r.type == "pulumi:pulumi:Stack")
    for diagnostic in served_pack.AnalyzeStack(stack_request).diagnostics:
        served.append((diagnostic.policyName, diagnostic.urn or stack_urn, diagnostic.message))

    expected = sorted((d.policy, d.urn, d.message) for d in offline.diagnostics)
    assert sorted(served) == expected
    assert {policy for policy, _, _ in served} >= {
        "i06-cell-ranges-disjoint",
        "i10-database-private",
        "i11-plane-region-labels",
    }


def test_served_pack_takes_levels_from_config(served_pack):
    level = analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.ADVISORY)
    served_pack.Configure(
        analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={"i10-database-private": level})
    )
    try:
        request = analyzer_pb2.AnalyzeRequest(
            type="aws:rds/instance:Instance",
            properties=_struct({"publiclyAccessible": True, "engine": "postgres"}),
            urn=f"urn:pulumi:{STACK}::cellarch::aws:rds/instance:Instance::db",
            name="db",
        )
        diagnostics = [
            d
            for d in served_pack.Analyze(request).diagnostics
            if d.policyName == "i10-database-private"
        ]
    finally:
        served_pack.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={}))

    assert [analyzer_pb2.EnforcementLevel.Name(d.enforcementLevel) for d in diagnostics] == [
        "ADVISORY"
    ]
    report = run_pack(
        lambda: None, pack_config={"i10-database-private": {"enforcementLevel": "advisory"}}
    )
    assert report.mandatory_count == 0


def _analyze_database(served_pack) -> None:
    served_pack.Analyze(
        analyzer_pb2.AnalyzeRequest(
            type="aws:rds/instance:Instance",
            properties=_struct({"engine": "postgres"}),
            urn=f"urn:pulumi:{STACK}::cellarch::aws:rds/instance:Instance::db",
            name="db",
        )
    )


def _analyze_empty_stack(served_pack) -> None:
    served_pack.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[]))


@pytest.mark.parametrize(
    ("policy", "properties", "analyze", "message"),
    [
        (
            "i06-cell-ranges-disjoint",
            {"otherCellRanges": {"x/cell-1": ["10.999.0.0/16"]}},
            _analyze_empty_stack,
            "policy config i06-cell-ranges-disjoint.otherCellRanges.x/cell-1: '10.999.0.0/16' "
            "is not a CIDR range; accepted: an IPv4 or IPv6 address with a prefix length, "
            "e.g. 10.2.0.0/16",
        ),
        (
            "i10-database-resilient",
            {"minBackupRetentionDays": 0.5},
            _analyze_database,
            "policy config i10-database-resilient.minBackupRetentionDays: 0.5 is not an integer",
        ),
    ],
)
def test_served_pack_rejects_bad_properties(served_pack, policy, properties, analyze, message):
    """The engine hands the config file's properties to the pack as the CLI read them."""
    level = analyzer_pb2.PolicyConfig(
        enforcementLevel=analyzer_pb2.MANDATORY, properties=_struct(properties)
    )
    served_pack.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={policy: level}))
    try:
        with pytest.raises(grpc.RpcError) as raised:
            analyze(served_pack)
    finally:
        served_pack.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={}))

    assert raised.value.code() == grpc.StatusCode.UNKNOWN
    assert raised.value.details() == f"Exception calling application: {message}"


def _struct(values) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def _provider(provider) -> analyzer_pb2.AnalyzerProviderResource | None:
    if provider is None:
        return None
    props = json.loads(json.dumps(dict(provider.props["__target"]), default=str))
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.resource_type, properties=_struct(props), urn=provider.urn, name=provider.name
    )


def _stack_resource(record, engine: EngineView) -> analyzer_pb2.AnalyzerResource:
    outputs = record.outputs if record.custom else (record.component_outputs or {})
    return analyzer_pb2.AnalyzerResource(
        type=record.type,
        properties=_struct(outputs),
        urn=record.urn,
        name=record.name,
        options=analyzer_pb2.AnalyzerResourceOptions(
            protect=record.protect, parent=record.parent or ""
        ),
        provider=_provider(engine.provider(record)),
        parent=record.parent or "",
        dependencies=record.dependencies,
        propertyDependencies={
            key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns)
            for key, urns in record.property_dependencies.items()
            if urns
        },
    )
