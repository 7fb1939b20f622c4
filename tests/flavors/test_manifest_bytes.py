"""A manifest's bytes name the package (its digest): the same document must give the same
bytes on every machine, whether PyYAML has libyaml or not."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.flavors.package import dump_yaml

ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
ANY_TEXT = st.text(max_size=40)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | ASCII | ANY_TEXT
DOCUMENTS = st.dictionaries(
    ASCII | ANY_TEXT,
    st.recursive(
        SCALARS,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(ASCII | ANY_TEXT, inner, max_size=4)
        ),
        max_leaves=12,
    ),
    max_size=6,
)


def pure(document: dict[str, Any]) -> bytes:
    return yaml.dump(document, Dumper=yaml.SafeDumper, sort_keys=True, allow_unicode=True).encode()


def test_this_machine_has_libyaml() -> None:
    assert yaml.__with_libyaml__  # else the next test would prove nothing


@settings(max_examples=300, deadline=None)
@given(DOCUMENTS)
def test_a_manifest_is_written_as_pure_pyyaml_writes_it(document: dict[str, Any]) -> None:
    assert dump_yaml(document) == pure(document)
