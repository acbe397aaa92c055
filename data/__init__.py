"""Shipped data read through ``importlib.resources`` (installed as ``uwac.data``): the default model and its
int8 variant, card and export record (``models/``), and the dataset label maps (``label_maps/``)."""
