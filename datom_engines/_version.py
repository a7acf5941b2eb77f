"""The package version (kept in its own module so every layer can import it without cycles)."""

__version__ = "0.1.0"
