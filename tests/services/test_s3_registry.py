"""The registry on an S3-compatible artifact store and a PostgreSQL database: the
configuration a growing team runs."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from modelyard import Client, IntegrityFailure, Settings
from tests.support.s3server import S3Server


def test_register_load_and_doctor_on_s3(
    settings: Settings,
    s3_server: S3Server,
    trained_model: LogisticRegression,
    payments_frame: pd.DataFrame,
    tmp_path: Path,
) -> None:
    bucket = f"yard-{uuid.uuid4().hex[:10]}"
    s3_server.create_bucket(bucket)
    s3 = settings.model_copy(
        update={
            "artifacts": f"s3://{bucket}/models",
            "artifacts_options": s3_server.storage_options(),
        }
    )
    x = payments_frame.drop(columns="label")
    with Client(settings=s3) as client:
        v = client.log_model(trained_model, "payments", input_example=x.head())
        again = client.log_model(trained_model, "payments", input_example=x.head())
        assert again.package_digest == v.package_digest  # stored once
        keys = s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]
        assert all(k["Key"].startswith("models/objects/sha256/") for k in keys)
        assert np.array_equal(client.load_model(v.ref).predict(x), trained_model.predict(x))
        assert client.doctor().ok
        # an object no row names, just written: taken for a registration in flight
        stray = "ab" * 32
        key = f"models/objects/sha256/{stray[:2]}/{stray[2:]}"
        s3_server.client().put_object(Bucket=bucket, Key=key, Body=b"in flight")
        report = client.doctor(gc=True)
        assert report.ok
        assert [f.kind for f in report.findings] == ["interrupted_registration", "gc"]
        s3_server.client().delete_object(Bucket=bucket, Key=key)

    # a tampered object on S3 is caught on load (from a fresh cache) and by doctor
    biggest = max(keys, key=lambda k: k["Size"])
    s3_server.client().put_object(Bucket=bucket, Key=biggest["Key"], Body=b"tampered")
    fresh = s3.model_copy(
        update={
            "home": tmp_path / "other-home",
            "db_url": s3.db_url or f"sqlite:///{s3.resolved_home}/modelyard.db",
        }
    )
    with Client(settings=fresh) as client:
        try:
            client.load_model(v.ref)
            raise AssertionError("a tampered object loaded")
        except IntegrityFailure as e:
            assert "corrupt" in e.message
        assert not client.doctor().ok
