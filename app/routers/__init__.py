"""HTTP routes: api/ answers JSON under /api/v1, pages/ renders HTML. Both call services."""
