"""The ground floor: base errors, the error map and document, settings base types, the
byte-bounded cache. Every package may import it; it imports nothing of the project."""
