"""The operator's kopf handlers: one package per custom resource.

:mod:`.scaling` runs a loop per ScalingPolicy; :mod:`.fairqueue` admits queued Pods and Jobs
(its mutating webhook holds them back at creation). :mod:`.registration` picks the controllers
an operator runs, and :mod:`.runtime` holds what they share (configuration, the API client).
"""
