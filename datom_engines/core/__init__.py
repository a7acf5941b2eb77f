"""The pure core: names, datom-cv1 hashing, canonical JSON and metadata, version selection. No I/O."""
