"""One module per group of `iprisk` commands; each imports `pipelines.app.app` and registers on it."""
