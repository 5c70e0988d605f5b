"""The ScalingPolicy controller: a loop per policy that reads the target and the load, plans
with :mod:`ebbtide.scaling`, scales through /scale and reports in the status and Events.

:mod:`.controller` registers the kopf handlers; :mod:`.supervisor` keeps a loop running per
policy; :mod:`.loop` runs the rounds; :mod:`.round` is one round; :mod:`.memory` is what a loop
keeps between rounds; :mod:`.report` writes the status and Events; :mod:`.services` holds the
clients and thread pools every policy shares.
"""
