"""Reference implementations, one module per exercise file, mirroring `exercises/`."""
