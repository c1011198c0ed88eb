# tools/difftest/create_options/__init__.py — per-format pools of create options the differential
# tester draws from (spec/difftest.md §Cases). A module FORMAT.py here defines
# `create_options(builder)` returning a list of "name=value" words (builder.rng, builder.size_value()).
import importlib


def for_format(builder, fmt):
    """The create options drawn for fmt, or None when no module names that format."""
    try:
        module = importlib.import_module(__name__ + "." + fmt)
    except ImportError:
        return None
    return module.create_options(builder)
