"""Storage: store locations, the fsspec object store, integrity checks, the read cache, namespace copies."""
