"""Every text ebbtide puts in front of users about node choice, in one place.

Filter reasons end up in the pod's events ("0/3 nodes are available: 1 node cpu utilisation 93
percent is above the ebbtide ceiling 85 percent, ..."), so they read as a sentence about a node.
They never contain a "%": the kube-scheduler passes them through a printf-style formatter, which
would turn "93% is" into "93%!i(MISSING)s".
"""

from __future__ import annotations

NODE_OVERLOADED = (
    "node {resource} utilisation {utilisation} percent is above the ebbtide ceiling {ceiling} percent"
)
NODE_UNKNOWN = "node is not in the ebbtide node cache yet"


def node_overloaded(*, resource: str, utilisation: float, ceiling: float) -> str:
    """The filter reason for a node measured above a ceiling (fractions shown as percentages)."""
    return NODE_OVERLOADED.format(
        resource=resource, utilisation=round(utilisation * 100), ceiling=round(ceiling * 100)
    )
