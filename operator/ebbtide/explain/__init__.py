"""Answers to "what is going on, and why": the data behind ``ebbtide queues``, ``queue``,
``policies`` and ``why``.

Everything here turns objects already read from the cluster (plain dicts, as the API server
sends them) into rows and explanations; reading them is :mod:`ebbtide.kube.reads`'s job and
printing them :mod:`ebbtide.explain.output`'s. The explanations quote what the operator wrote
(status, conditions, the waiting annotations, Events) and, for queued work, the order the
admission planner computes from the same objects the operator sees.
"""
