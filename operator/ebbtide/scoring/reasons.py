"""Every text ebbtide puts in front of users about node choice, in one place.

Filter reasons end up in the pod's events ("0/3 nodes are available: 1 node cpu utilisation 93% is
above the ebbtide ceiling 85%, ..."), so they read as a sentence about a node.
"""

from __future__ import annotations

NODE_OVERLOADED = "node {resource} utilisation {utilisation:.0%} is above the ebbtide ceiling {ceiling:.0%}"
NODE_UNKNOWN = "node is not in the ebbtide node cache yet"


def node_overloaded(*, resource: str, utilisation: float, ceiling: float) -> str:
    """The filter reason for a node measured above a ceiling (fractions shown as percentages)."""
    return NODE_OVERLOADED.format(resource=resource, utilisation=utilisation, ceiling=ceiling)
