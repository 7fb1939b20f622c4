"""The throwaway PostgreSQL cluster used by the store tests."""

from __future__ import annotations

import pytest
import sqlalchemy

from tests.support.pgcluster import running_cluster


@pytest.mark.postgres
def test_cluster_serves_a_database_and_cleans_up() -> None:
    with running_cluster() as cluster:
        directory = cluster.dir
        assert directory is not None and directory.is_dir()
        url = cluster.create_database("modelyard_smoke")
        assert url == cluster.url.rsplit("/", 1)[0] + "/modelyard_smoke"
        engine = sqlalchemy.create_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(sqlalchemy.text("select 1")).scalar_one() == 1
        finally:
            engine.dispose()
        cluster.drop_database("modelyard_smoke")
    assert not directory.exists()
    assert cluster.dir is None
