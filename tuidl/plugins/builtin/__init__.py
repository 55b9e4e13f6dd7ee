"""Built-in components, one module per kind, each a plain pluggy plugin.

They use exactly the public hooks a third-party package uses, so nothing about a built-in
is special to the views.
"""
