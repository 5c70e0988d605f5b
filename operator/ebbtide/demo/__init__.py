"""The parts of ``ebbtide demo``.

Pure parts (no I/O): :mod:`.pattern` (the load the demo plays), :mod:`.timeline` (what one
look at the cluster saw), :mod:`.ledger` (the admitted Jobs per queue), :mod:`.summary` (the
figures at the end) and :mod:`.view` (the lines it prints). The rest talks to the cluster,
Prometheus or the file system: :mod:`.files`, :mod:`.kubectl`, :mod:`.operator_process`,
:mod:`.exporter`, :mod:`.workloads`, :mod:`.observe`, :mod:`.report`, and :mod:`.steps`, which
runs them in order.
"""
