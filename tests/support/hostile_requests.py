"""Hypothesis strategies for hostile extender requests, shared by the unit fuzz (against the
aiohttp app) and the e2e fuzz (against the real extender process).

Each strategy yields a value of the shape the scheduler sends, or anything at all in its place
(:func:`maybe`), down to every field the extender reads from a pod or a node.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ebbtide.scoring.kube_objects import AFFINITY_KEY, SCORING_PROFILE_ANNOTATION

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)
quantities = (
    st.sampled_from(
        ["1", "500m", "1Gi", "1e3", "0.5", "-1", "1e400", "9" * 60, "1Ei", "12Zi", "abc", "", "٣"]
    )
    | st.text(max_size=12)
    | json_values
)


def maybe(expected: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value of the expected shape (twice as likely), or any JSON value in its place."""
    return st.one_of(expected, expected, json_values)


resources = maybe(st.fixed_dictionaries({}, optional={"cpu": quantities, "memory": quantities}))
containers = maybe(
    st.lists(
        maybe(
            st.fixed_dictionaries(
                {"name": maybe(st.text(max_size=8))},
                optional={
                    "resources": maybe(
                        st.fixed_dictionaries({}, optional={"requests": resources, "limits": resources})
                    ),
                    "restartPolicy": maybe(st.sampled_from(["Always", "Never"])),
                },
            )
        ),
        max_size=4,
    )
)
requirement = maybe(
    st.fixed_dictionaries(
        {
            "key": maybe(st.sampled_from(["zone", "metadata.name", "kubernetes.io/hostname"])),
            "operator": maybe(
                st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Bogus"])
            ),
        },
        optional={"values": maybe(st.lists(maybe(st.sampled_from(["z0", "n1", "3", "-1e9"])), max_size=3))},
    )
)
preferred = maybe(
    st.lists(
        maybe(
            st.fixed_dictionaries(
                {
                    "weight": maybe(st.integers(min_value=-(2**70), max_value=2**70)),
                    "preference": maybe(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "matchExpressions": maybe(st.lists(requirement, max_size=3)),
                                "matchFields": maybe(st.lists(requirement, max_size=2)),
                            },
                        )
                    ),
                }
            )
        ),
        max_size=3,
    )
)
string_maps = maybe(
    st.dictionaries(
        st.sampled_from([AFFINITY_KEY, SCORING_PROFILE_ANNOTATION, "zone"]) | st.text(max_size=10),
        maybe(st.text(max_size=40)),
        max_size=4,
    )
)
pods = maybe(
    st.fixed_dictionaries(
        {},
        optional={
            "metadata": maybe(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "name": maybe(st.text(max_size=10)),
                        "namespace": maybe(st.text(max_size=10)),
                        "uid": maybe(st.text(max_size=10)),
                        "labels": string_maps,
                        "annotations": string_maps,
                    },
                )
            ),
            "spec": maybe(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "containers": containers,
                        "initContainers": containers,
                        "overhead": resources,
                        "affinity": maybe(
                            st.fixed_dictionaries(
                                {},
                                optional={
                                    "nodeAffinity": maybe(
                                        st.fixed_dictionaries(
                                            {},
                                            optional={
                                                "preferredDuringSchedulingIgnoredDuringExecution": preferred
                                            },
                                        )
                                    )
                                },
                            )
                        ),
                    },
                )
            ),
        },
    )
)
nodes = maybe(
    st.fixed_dictionaries(
        {
            "metadata": maybe(
                st.fixed_dictionaries(
                    {"name": maybe(st.sampled_from(["n0", "n1", "x"]) | st.text(max_size=8))},
                    optional={"resourceVersion": maybe(st.text(max_size=4)), "labels": string_maps},
                )
            )
        },
        optional={
            "spec": maybe(st.fixed_dictionaries({}, optional={"unschedulable": json_values})),
            "status": maybe(st.fixed_dictionaries({}, optional={"allocatable": resources})),
        },
    )
)
node_names = maybe(
    st.lists(maybe(st.sampled_from(["n0", "n1", "n2", "n3", "gone"]) | st.text(max_size=6)), max_size=8)
)
extender_args = st.one_of(
    st.fixed_dictionaries({"Pod": pods, "NodeNames": node_names}, optional={"Nodes": json_values}),
    st.fixed_dictionaries(
        {
            "pod": pods,
            "Nodes": maybe(st.fixed_dictionaries({"items": maybe(st.lists(nodes, max_size=5))})),
            "NodeNames": st.none(),
        }
    ),
    st.dictionaries(st.sampled_from(["Pod", "pod", "NODENAMES", "Nodes", "nodenames", "x"]), json_values),
)
