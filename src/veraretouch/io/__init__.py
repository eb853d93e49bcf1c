"""File I/O: images with their metadata, and atomic writes."""
