"""One module per group of `iprisk` commands; each imports `cli.app.app` and registers on it."""
