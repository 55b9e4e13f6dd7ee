"""Experiments: the spec, grid and fold planning, the trainer, the runner and the store.

Imports point down only: this layer uses the engine, the data layer and the plugin
registry, never a view (Textual, plotext).
"""
