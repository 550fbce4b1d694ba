"""The janitor: plan deletions from annotations, rules and waste findings; carry them out safely (docs/janitor.md)."""
