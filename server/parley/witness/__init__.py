"""The witness side of c2sp.org/tlog-witness, its HTTP client, and a log monitor.

- :mod:`~parley.witness.protocol`: pure. Parses an ``add-checkpoint`` request and
  decides it against the witness's last cosigned checkpoint of that log.
- :mod:`~parley.witness.state`: the witness's SQLite file; the compare-and-set.
- :mod:`~parley.witness.server`: the Starlette app (``parley witness serve``).
- :mod:`~parley.witness.client`: what a log calls to get a cosignature.
- :mod:`~parley.witness.monitor`: ``parley log monitor``, which follows a log's
  checkpoints and reports any that is not consistent with the last one it saw.
"""
