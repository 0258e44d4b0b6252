"""The field-inspection app (issue 18): an installable, offline-first PWA under /field/, the
inspector's licences and their history, and assignments of licences to inspectors."""
