"""A local S3 server for the suite (moto in server mode on a free loopback port) and the settings that point at it."""
import contextlib
import socket
import uuid
from collections.abc import Iterator

import boto3
from moto.server import ThreadedMotoServer

from driftgate.env import s3_files_storages

# moto accepts any credentials; they reach the storages through the environment, as in production.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    """Return a loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """Run moto's S3 in a thread of this process and yield its endpoint URL."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def new_bucket(endpoint: str) -> tuple[object, str]:
    """Create an empty bucket and return (a boto3 client, its name)."""
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")
    bucket = f"driftgate-files-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


def files_environment(endpoint: str, bucket: str, prefix: str = "") -> dict[str, str]:
    """Return the environment a Driftgate machine gets to keep its evidence and reports in the bucket."""
    return {**CREDENTIALS, "DRIFTGATE_FILES_S3_BUCKET": bucket, "DRIFTGATE_FILES_S3_ENDPOINT_URL": endpoint,
            "DRIFTGATE_FILES_S3_REGION": "us-east-1", "DRIFTGATE_FILES_S3_PREFIX": prefix}


def files_storages(monkeypatch, endpoint: str, bucket: str, prefix: str = "") -> dict[str, dict]:
    """Set the environment and return the `evidence` and `reports` STORAGES entries the settings build from it."""
    for name, value in files_environment(endpoint, bucket, prefix).items():
        monkeypatch.setenv(name, value)
    return s3_files_storages()
