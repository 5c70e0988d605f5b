"""The HTTP scheduler extender: the kube-scheduler calls it to filter and score nodes.

:mod:`~ebbtide.extender.app` serves the routes, :mod:`~ebbtide.extender.protocol` reads and writes
the extender/v1 wire format, :mod:`~ebbtide.extender.service` answers filter and prioritize from
the node cache (:mod:`ebbtide.kube.node_cache`), the load figures
(:mod:`~ebbtide.extender.load_board`) and the configuration (:mod:`~ebbtide.extender.config`,
hot-reloaded by :mod:`~ebbtide.extender.config_reload`); :mod:`~ebbtide.extender.runtime` wires
them together. The decisions themselves are pure and live in :mod:`ebbtide.scoring`.
"""
