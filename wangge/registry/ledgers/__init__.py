"""Ledgers (台账) in and out: import of xlsx / csv files with Chinese headers, export of lists.

``mapping``     the fields each kind of ledger knows, and the columns of its template (data)
``reading``     a file → header + rows of text; bad files are field errors on ``file``
``validating``  one row → clean values or reasons (pure: runs in worker processes)
``writing``     clean rows → the registry, one transaction per batch, bulk (COPY on PostgreSQL)
``importing``   the import job: start, run (background task), progress, rejects file, audit
``exporting``   templates and filtered lists → xlsx, masked, watermarked, audited
"""
