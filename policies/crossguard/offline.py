"""Run the pack over a recording of the offline preview, as the engine runs it over a preview.

`run(recording)` calls every resource policy once per recorded resource with the resource's
inputs. It then calls every stack policy once with all resources' outputs, parents and
dependencies, built as the engine builds them (`engine_args.py`). Enforcement levels and
the pack's config are applied as the policy SDK's analyzer applies them. A policy that
raises `UnknownValueError` yields an advisory diagnostic that it could not run on those
values, after the violations it reported first.

    python -m policies.crossguard.offline --stack aws-us-east-1

records the reference program's preview for that stack on the mock engine, prints the
violations and exits with 1 when any is mandatory.
"""

import argparse
import asyncio
import runpy
import sys
import threading
from collections.abc import Mapping
from inspect import isawaitable
from pathlib import Path
from typing import Any

from pulumi.runtime import config as runtime_config
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from offline.recorder import Recording
from offline.stack_config import PROGRAM, load_stack_config, shipped_stacks

from . import policy_config
from .engine_args import EngineView
from .pack import RULES_BY_NAME, policies
from .report import Diagnostic, Report

EXIT_MANDATORY_VIOLATION = 1
EXIT_BAD_INPUT = 2


def run(
    recording: Recording,
    *,
    stack_config: Mapping[str, str] | None = None,
    pack_config: Mapping[str, Any] | None = None,
) -> Report:
    """Return what the pack reports on a recording.

    `stack_config` is the stack's config (`cellarch:environment`, ...), which the engine
    hands a pack in its environment. It defaults to the config of the shipped stack of the
    recording's name, if there is one. `pack_config` has the format of the CLI's
    `--policy-pack-config` file; PolicyConfigError names what is wrong with it.
    """
    settings = policy_config.resolve(pack_config)
    if stack_config is None:
        stack_config = shipped_stack_config(recording.stack)
    outcome: dict[str, Any] = {}

    def analyze() -> None:
        try:
            runtime_config.set_all_config(dict(stack_config or {}), [])
            outcome["report"] = _analyze(recording, stack_config, settings)
        except BaseException as error:  # handed to the calling thread, which re-raises it
            outcome["error"] = error

    # The Pulumi SDK keeps the stack's config in a context variable. A new thread starts
    # with a fresh context, so one run's config does not reach another run.
    thread = threading.Thread(target=analyze, name=f"crossguard-{recording.stack}")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["report"]


def shipped_stack_config(stack: str) -> dict[str, str]:
    """Return the config in `stacks/Pulumi.<stack>.yaml`, or {} when there is no usable file.

    With {} the rules see the config model's defaults, such as the production environment.
    """
    from components.errors import ConfigError

    if stack not in shipped_stacks():
        return {}
    try:
        return load_stack_config(stack)
    except ConfigError:
        return {}


def _analyze(
    recording: Recording,
    stack_config: Mapping[str, str] | None,
    settings: Mapping[str, policy_config.PolicySettings],
) -> Report:
    engine = EngineView(recording, stack_config)
    report = Report(
        stack=recording.stack,
        preview=recording.preview,
        resource_count=len(recording.resources),
    )
    built = [(policy, settings[policy.name]) for policy in policies()]
    active = [(p, s) for p, s in built if s.level != EnforcementLevel.DISABLED]
    report.policy_count = len(active)
    stack_urn = _stack_urn(recording)

    for record in recording.resources:
        # The policy SDK builds the same arguments for every policy; build them once.
        shared = engine.resource_args(record, None)
        for policy, setting in active:
            if isinstance(policy, ResourceValidationPolicy):
                args = engine.with_config(shared, setting.properties or None)
                _invoke(policy, setting, args, report, record.urn, fixed_urn=record.urn)

    resources = engine.stack_resources()
    for policy, setting in active:
        if isinstance(policy, StackValidationPolicy):
            args = StackValidationArgs(resources, setting.properties or None, {})
            _invoke(policy, setting, args, report, stack_urn, fixed_urn=None)
    return report


def _invoke(
    policy: Policy,
    setting: policy_config.PolicySettings,
    args: Any,
    report: Report,
    default_urn: str,
    fixed_urn: str | None,
) -> None:
    """Call one policy and add its diagnostics; a resource policy's always name its resource."""
    rule = RULES_BY_NAME[policy.name]
    level = setting.level
    if level == EnforcementLevel.REMEDIATE:
        level = EnforcementLevel.MANDATORY

    def report_violation(message: str, urn: str | None = None) -> None:
        report.diagnostics.append(
            Diagnostic(
                policy=policy.name,
                invariant=rule.invariant,
                level=level,
                urn=fixed_urn or urn or default_urn,
                detail=message or "",
                description=policy.description,
            )
        )

    try:
        result = policy.validate(args, report_violation)
        if isawaitable(result):
            asyncio.run(result)
    except UnknownValueError as error:
        report.diagnostics.append(
            Diagnostic(
                policy=policy.name,
                invariant=rule.invariant,
                level=EnforcementLevel.ADVISORY,
                urn=fixed_urn or default_urn,
                detail=error.message,
                description=policy.description,
                evaluated=False,
            )
        )


def _stack_urn(recording: Recording) -> str:
    for record in recording.resources:
        if record.type == "pulumi:pulumi:Stack":
            return record.urn
    return f"urn:pulumi:{recording.stack}::{recording.project}::pulumi:pulumi:Stack::" + (
        f"{recording.project}-{recording.stack}"
    )


def record_stack(stack: str, *, preview: bool = True) -> tuple[Recording, dict[str, str]]:
    """Run the reference program with a shipped stack's config on the mock engine.

    Raises ConfigError for a stack with no file or a bad file, and ProgramFailed when the
    program raises, e.g. on config it rejects.
    """
    from offline.engine import run_program

    config = load_stack_config(stack)
    recording = run_program(
        lambda: runpy.run_path(str(PROGRAM), run_name="__main__"),
        stack=stack,
        config=config,
        preview=preview,
    )
    return recording, config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m policies.crossguard.offline",
        description="Record a stack's preview on the mock engine and run the policy pack on it.",
    )
    parser.add_argument("--stack", required=True, help="stack name, e.g. aws-us-east-1")
    parser.add_argument(
        "--policy-pack-config",
        type=Path,
        help="JSON file of enforcement levels and properties, as for pulumi preview",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="record as `pulumi up` would, with the values the mocks compute, not a preview",
    )
    args = parser.parse_args(argv)

    from components.errors import ConfigError
    from offline.engine import ProgramFailed

    try:
        pack_config = (
            policy_config.load(args.policy_pack_config) if args.policy_pack_config else None
        )
        policy_config.resolve(pack_config)
    except policy_config.PolicyConfigError as error:
        print(f"crossguard: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    mode = "update" if args.update else "preview"
    print(f"crossguard: recording the {mode} of stack {args.stack} on the mock engine")
    try:
        recording, config = record_stack(args.stack, preview=not args.update)
    except ConfigError as error:
        print(f"crossguard: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ProgramFailed as error:
        print(f"crossguard: the program failed for stack {args.stack}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(
        f"crossguard: running {len(RULES_BY_NAME)} policies over "
        f"{len(recording.resources)} resources"
    )
    report = run(recording, stack_config=config, pack_config=pack_config)
    report.print()
    return EXIT_MANDATORY_VIOLATION if report.mandatory_count else 0


if __name__ == "__main__":
    sys.exit(main())
