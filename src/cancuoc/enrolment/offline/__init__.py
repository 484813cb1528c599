"""Offline station mode: pull a registry slice, enrol on SQLite, push back without loss.

Station side: ``pull.slice_load`` (load a slice into the local database), ``outbox``
(which local enrolments are unsent), ``push.push_run`` (blobs first, then signed record
batches; resumable). Server side: ``pull.slice_build`` and ``server.batch_apply``. The two
sides talk through a ``transport.Transport``: HTTP in the field, Django's test client in tests.
"""
