"""Business rules, without HTTP."""
