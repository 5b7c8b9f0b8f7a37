"""Witnessing the transcript log: the c2sp.org/tlog-witness client, server and monitor."""
