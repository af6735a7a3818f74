"""An S3 peer for tests: moto's standalone server on 127.0.0.1, in its own process.

Use::

    from tests.s3_server import start_s3_server

    @pytest.fixture(scope="session")
    def s3_server():
        server = start_s3_server()
        yield server
        server.stop()

    def test_x(s3_server, monkeypatch):
        bucket = s3_server.new_bucket()          # a fresh, empty bucket
        s3_server.apply_env(monkeypatch)         # MLFLOW_S3_ENDPOINT_URL and AWS_* for boto3
        ...                                      # s3://{bucket}/prefix now works
        assert s3_server.keys(bucket) == [...]   # what the bucket holds

``server.env`` is the same environment as a dict, for subprocesses (an ``mlcask server``, the
MLflow client). Credentials are moto's dummy ones; nothing leaves the machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.support import free_port

ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"
REGION = "us-east-1"


@dataclass
class S3Server:
    """A running moto server: its endpoint, the boto3 environment that reaches it, and a few helpers."""

    endpoint_url: str
    process: subprocess.Popen
    env: dict[str, str] = field(default_factory=dict)

    def client(self) -> Any:
        """A boto3 S3 client of the test itself (not the one mlcask caches)."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=ACCESS_KEY_ID,
                            aws_secret_access_key=SECRET_ACCESS_KEY, region_name=REGION)

    def new_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh unique name for None) and return its name."""
        name = name or f"mlcask-test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key in ``bucket`` under ``prefix``, sorted."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def multipart_uploads(self, bucket: str) -> list[str]:
        """The keys of the multipart uploads started and neither completed nor aborted."""
        answer = self.client().list_multipart_uploads(Bucket=bucket)
        return sorted(upload["Key"] for upload in answer.get("Uploads", []))

    def apply_env(self, monkeypatch: Any) -> None:
        """Point boto3 (and mlcask's S3 repository) at this server for one test; other AWS settings dropped."""
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "MLFLOW_S3_IGNORE_TLS",
                     "MLFLOW_S3_UPLOAD_EXTRA_ARGS"):
            monkeypatch.delenv(name, raising=False)
        for name, value in self.env.items():
            monkeypatch.setenv(name, value)

    def stop(self) -> None:
        """Stop the server process."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_s3_server(min_part_bytes: int | None = None, require_auth: bool = False,
                    timeout: float = 30.0) -> S3Server:
    """Start moto's S3 server on a free port of 127.0.0.1 and wait until it answers.

    ``min_part_bytes`` lowers the smallest multipart part S3 accepts (5 MiB, as AWS, for None).
    ``require_auth`` makes moto check credentials, and it knows none: every request is refused with
    ``InvalidAccessKeyId`` (for tests of bad credentials).
    """
    port = free_port()
    env = dict(os.environ)
    if min_part_bytes is not None:
        env["S3_UPLOAD_PART_MIN_SIZE"] = str(min_part_bytes)
    if require_auth:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with code {process.returncode} before answering on {endpoint}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"moto server did not answer on {endpoint} within {timeout} s") from None
            time.sleep(0.1)
    return S3Server(endpoint, process, {
        "MLFLOW_S3_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY, "AWS_DEFAULT_REGION": REGION})
