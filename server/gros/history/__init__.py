"""The change log of the store: who changed which resource when, and every version since (docs/publishing.md)."""
