"""Actions: change the world from a plan made as data (dry-run by default, applied on request)."""
