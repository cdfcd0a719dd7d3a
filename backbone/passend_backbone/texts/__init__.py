"""Free texts about a pupil, sealed with a key per case that erasure destroys.

Every service seals the fields its contracts mark ``PupilText`` as the store writes the
event (:mod:`.sealing`), with a key of its own per case (:mod:`.keys`, sealed in turn under
``TEXT_KEY_ENCRYPTION_KEYS``). The store, the topics, the read models, the WAL and every
backup hold only ``sealed:v1:...`` tokens (:mod:`.tokens`). The service's HTTP answers open
them for the reader the API already let in (:mod:`.opening`); when the pupil is erased each
service deletes its keys of the pupil's cases (``CaseErased``), and every copy of those
texts, wherever it went, stays unreadable: an opened answer then says ``[gewist]``.
"""
