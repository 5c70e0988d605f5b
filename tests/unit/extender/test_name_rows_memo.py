"""The name-to-row memo answers exactly as a fresh lookup would, whatever the request order."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebbtide.api.resources import NodeFacts, NodeName, Resources
from ebbtide.extender.name_rows import NameRows
from ebbtide.scoring.node_table import NodeTable

pytestmark = pytest.mark.unit

# Properties, not timings: no deadline and no slowness check, however busy the machine is.
UNTIMED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAMES = [f"node-{index}" for index in range(12)]
TABLE = NodeTable.build([NodeFacts(name=NodeName(name), allocatable=Resources.ZERO) for name in NAMES])

requests = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=11).map(lambda shift: NAMES[shift:] + NAMES[:shift]),
        st.permutations(NAMES),
        st.lists(st.sampled_from([*NAMES, "ghost"]), max_size=14),
    ),
    min_size=1,
    max_size=8,
)


@settings(UNTIMED)
@given(requests)
def test_the_memo_matches_a_fresh_lookup(sequence: list[list[str]]) -> None:
    memo = NameRows()
    for names in sequence:
        rows, unknown = memo.resolve(TABLE, list(names))
        expected_rows, expected_unknown = TABLE.rows_of(list(names))
        assert rows.tolist() == expected_rows.tolist()
        assert unknown == expected_unknown


def test_a_new_table_is_never_answered_from_the_old_one() -> None:
    memo = NameRows()
    memo.resolve(TABLE, NAMES)
    smaller = NodeTable.build(
        [NodeFacts(name=NodeName(name), allocatable=Resources.ZERO) for name in NAMES[6:]]
    )
    rows, unknown = memo.resolve(smaller, NAMES)
    assert [smaller.names[row] for row in rows.tolist()] == NAMES[6:]
    assert unknown == NAMES[:6]
