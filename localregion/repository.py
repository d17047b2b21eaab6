"""The bundle repository of the local region: moto's S3 server on loopback.

moto keeps objects in memory, so a restarted repository is empty until the region
publishes again; `LocalRegion.start_repository` does that.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
from botocore.config import Config

from localregion.readiness import Deadline, port_listening, wait_until
from localregion.supervisor import Supervisor

PROCESS_NAME = "repository"
AWS_REGION = "us-east-1"
# moto accepts any key pair; these are not secrets and sign nothing outside this machine.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local-region",
    "AWS_SECRET_ACCESS_KEY": "local-region",
    "AWS_REGION": AWS_REGION,
    "AWS_DEFAULT_REGION": AWS_REGION,
}


def child_environment(**extra: str) -> dict[str, str]:
    """Return a minimal environment for a child process: no proxy, fake AWS credentials.

    Leaving out the caller's environment keeps proxies and real cloud credentials away
    from every process of the local region.
    """
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update(FAKE_CREDENTIALS)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env.update(extra)
    return env


class BundleRepository:
    """moto's S3 server on 127.0.0.1:port, holding one versioned bucket."""

    def __init__(self, supervisor: Supervisor, port: int, bucket: str) -> None:
        self.supervisor = supervisor
        self.port = port
        self.bucket = bucket

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def bucket_url(self) -> str:
        """The path-style URL of the bucket, as the agents' S3 service URL."""
        return f"{self.endpoint_url}/{self.bucket}"

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=AWS_REGION,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )

    @contextmanager
    def credentials(self) -> Iterator[None]:
        """Put moto's fake credentials in this process's environment for a boto3 call.

        boto3 clients that take no explicit keys, such as the wasm package's publish
        step, read them from there. The previous values are restored afterwards.
        """
        saved = {key: os.environ.get(key) for key in FAKE_CREDENTIALS}
        os.environ.update(FAKE_CREDENTIALS)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def start(self, deadline: Deadline) -> None:
        """Start the server, wait until it accepts connections, create the bucket."""
        moto_server = Path(sys.executable).with_name("moto_server")
        self.supervisor.start(
            PROCESS_NAME,
            [str(moto_server), "-H", "127.0.0.1", "-p", str(self.port)],
            env=child_environment(),
        )
        wait_until(
            port_listening(self.port),
            f"the bundle repository on 127.0.0.1:{self.port}",
            deadline,
            supervisor=self.supervisor,
            process=PROCESS_NAME,
        )
        self.supervisor.check_listening(PROCESS_NAME, self.port)
        client = self.client()
        client.create_bucket(Bucket=self.bucket)
        client.put_bucket_versioning(
            Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}
        )

    def stop(self) -> None:
        self.supervisor.stop(PROCESS_NAME)

    def is_running(self) -> bool:
        return PROCESS_NAME in self.supervisor.running()
