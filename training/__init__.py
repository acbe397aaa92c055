"""uwac training: the torch front-end, model families, data pipeline and training loop (needs torch)."""
