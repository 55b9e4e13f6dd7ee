"""The workbench's screens (help, plugins, compare, pickers), one per module."""
