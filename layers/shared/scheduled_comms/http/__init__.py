"""HTTP plumbing of the route functions: the resolver (``http.resolver``) and the error mapping (``http.errors``).

Nothing is imported here, so a plain handler can use the error mapping without loading the resolver.
"""
