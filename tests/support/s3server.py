"""A local S3-compatible server for tests: moto in server mode on a free loopback port.

Start it, create a bucket per test, and hand ``storage_options()`` to fsspec:
``fsspec.core.url_to_fs("s3://bucket/prefix", **server.storage_options())``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


class S3Server:
    """moto's ``ThreadedMotoServer`` bound to 127.0.0.1 on a free port.

    The port is 0 until the server binds, so the OS picks a free one and no other
    process can take it between choosing and binding.
    """

    def __init__(self) -> None:
        self.port: int | None = None
        self._server: Any = None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        if self._server is not None:
            raise RuntimeError("S3 server already started")
        # boto3 and s3fs refuse to sign requests without credentials; moto accepts any.
        os.environ.setdefault("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        self._server = server
        self.port = int(server.get_host_and_port()[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None
        self.port = None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise RuntimeError("S3 server not started")
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def storage_options(self) -> dict[str, Any]:
        """fsspec/s3fs options: ``fsspec.core.url_to_fs("s3://bucket/prefix", **opts)``."""
        return {"endpoint_url": self.endpoint_url, "key": ACCESS_KEY, "secret": SECRET_KEY}


@contextlib.contextmanager
def running_s3_server() -> Iterator[S3Server]:
    """A started S3 server, always stopped on exit."""
    server = S3Server()
    try:
        server.start()
        yield server
    finally:
        server.stop()
