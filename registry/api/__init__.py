"""The model lifecycle API (``/api/v1/``): a friendly view over the registry's rows."""
