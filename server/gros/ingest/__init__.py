"""Researchers ' data into the store next to ours: `gros load` (validated, small) and `gros load --bulk`."""
