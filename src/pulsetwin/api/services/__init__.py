"""Queries behind the API, one module per resource; routers call these and never query the store."""
