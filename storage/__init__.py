"""The ground floor: models, queries, transactions, media files and the job queue.

Nothing here imports ``actors`` or ``web``.
"""
