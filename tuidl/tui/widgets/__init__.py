"""The workbench's widgets, one Textual component per module."""
