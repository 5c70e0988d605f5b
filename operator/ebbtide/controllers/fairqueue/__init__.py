"""The FairQueue controller: holds queued Pods and Jobs back and admits them in fair order.

:mod:`.webhook` gates or suspends queued workloads at creation; :mod:`.controller` registers
the handlers; :mod:`.leadership` runs the :mod:`.engine` only on the elected replica; the
engine keeps a watch-fed :mod:`.store`, runs admission cycles (:mod:`.cycle`, fed by
:mod:`.snapshot` and :mod:`.capacity`) and reports (:mod:`.reporting`, :mod:`.status`,
:mod:`.waiting`). :mod:`.records` reads FairQueues, nodes and namespaces into plain records.
"""
