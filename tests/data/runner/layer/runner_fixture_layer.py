"""A module shipped in the fixture layer: the worker puts the layer's directory on sys.path."""

LAYER_MARK = "layer-v1"
