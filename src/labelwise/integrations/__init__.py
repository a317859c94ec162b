"""Bridges from labelwise to other tools (Label Studio). Top layer: beside ``annotate``."""
