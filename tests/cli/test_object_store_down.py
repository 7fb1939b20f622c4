"""An artifact store on S3 that cannot be used (here: no credentials) is one line naming
what failed and exit 1, for a command and for the server (which then serves nothing),
not botocore's traceback."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.live import EXE
from tests.support.s3server import S3Server


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["doctor"], "error: listing artifacts: artifact store error: "),
        (["server", "--port", "0"], "error: reaching the artifact store: artifact store error: "),
    ],
    ids=["doctor", "server"],
)
def test_an_s3_store_without_credentials_is_one_line(
    tmp_path: Path, s3_server: S3Server, command: list[str], says: str
) -> None:
    bucket = f"yard-{uuid.uuid4().hex[:10]}"
    s3_server.create_bucket(bucket)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "MODELYARD_HOME": str(tmp_path / "home"),
        "MODELYARD_ARTIFACTS": f"s3://{bucket}/yard",
        "MODELYARD_ARTIFACTS_OPTIONS": f'{{"endpoint_url": "{s3_server.endpoint_url}"}}',
        "MODELYARD_ADMIN_TOKEN": "myd_test-admin-token-000000000000000000000000",
        # nowhere else to find credentials either
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run(
        [EXE, *command], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line == says + "Unable to locate credentials"
    assert not s3_server.client().list_objects_v2(Bucket=bucket).get("Contents")
