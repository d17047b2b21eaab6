"""Run a Pulumi program in-process on the mock engine and record its resources.

Each run happens on a thread of its own. The Pulumi SDK keeps its runtime settings, root
stack and config in context variables, and a new thread starts with an empty context and no
event loop, so several programs can run one after another in one process (as the tests do)
without sharing any runtime state.
"""

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import Any

from pulumi.runtime import config as runtime_config
from pulumi.runtime.mocks import MockEngine, MockSettings
from pulumi.runtime.settings import configure
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from offline.mocks import CloudMocks
from offline.recorder import Recording, RecordingMonitor


class ProgramFailed(Exception):
    """The program raised an error; `error` is the original exception."""

    def __init__(self, error: BaseException, recording: Recording) -> None:
        super().__init__(str(error))
        self.error = error
        self.recording = recording


def run_program(
    program: Callable[[], Any],
    *,
    stack: str,
    project: str = "cellarch",
    config: Mapping[str, str] | None = None,
    secret_keys: list[str] | None = None,
    preview: bool,
    mocks: CloudMocks | None = None,
) -> Recording:
    """Run `program` as `pulumi preview` (preview=True) or `pulumi up` would, on mocks.

    `config` holds `namespace:key` values in the string form the Pulumi CLI passes them.
    Raises ProgramFailed, with the resources recorded so far, when the program raises.
    """
    recording = Recording(stack=stack, project=project, preview=preview)
    mocks = mocks or CloudMocks(preview=preview)
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            runtime_config.set_all_config(dict(config or {}), list(secret_keys or []))
            monitor = RecordingMonitor(mocks, recording)
            configure(
                MockSettings(
                    monitor=monitor,
                    monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
                    engine=MockEngine(None),
                    project=project,
                    stack=stack,
                    dry_run=preview,
                    organization="organization",
                    callbacks=None,
                )
            )
            _sync_await(run_in_stack(program))
        except BaseException as error:  # handed to the calling thread, which re-raises it
            outcome["error"] = error
        finally:
            loop.close()

    thread = threading.Thread(target=run, name=f"pulumi-mock-{stack}", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise ProgramFailed(outcome["error"], recording) from outcome["error"]
    return recording
