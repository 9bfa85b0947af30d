"""Scoring books and Monte Carlo paths on a Dask cluster (a local one, or any `tcp://` scheduler):
`cluster` opens the client from a scheduler string, `book_scoring` scores a book partitioned by
loan into Parquet partitions plus a manifest, `paths` runs the Monte Carlo path chunks on workers."""
