"""The four uwac classes and their fine types.

The order of ``CLASSES`` is the order of a model's output columns unless the model's own
``uwac.classes`` metadata says otherwise; always read the model's metadata at run time.
"""

CLASSES: tuple[str, ...] = ("ambient", "merchant", "warship", "drone")

FINE_TYPES: dict[str, tuple[str, ...]] = {
    "ambient": ("sea",),
    "merchant": ("bulker", "container", "tanker", "vehicle_carrier", "passenger", "fishing", "tug"),
    "warship": ("frigate_quiet", "frigate_sprint", "patrol"),
    "drone": ("uuv", "usv", "aerial"),  # aerial: multirotor over the water (physics.md §4)
}


def class_index(label: str, classes: tuple[str, ...] = CLASSES) -> int:
    """Column of ``label`` in ``classes``; a clear error for a label the model does not know."""
    try:
        return classes.index(label)
    except ValueError:
        raise ValueError(f"unknown class label {label!r}; expected one of {', '.join(classes)}") from None
