"""Entities, value types and errors. Imports nothing else of modelyard's and does no I/O."""
