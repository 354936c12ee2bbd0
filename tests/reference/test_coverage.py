"""Every graded function has a reference, and every one torch has is proven equal to torch."""

import importlib
import pkgutil

import reference
import tests.reference
from autograder.catalog import all_functions
from tests.reference.torch_oracle import PROVEN


def test_every_graded_function_has_a_reference():
    assert set(reference.FUNCTIONS) == {f.name for f in all_functions()}


def test_every_function_torch_has_is_proven_equal_to_it():
    for module in pkgutil.iter_modules(tests.reference.__path__):
        if module.name.startswith("test_"):
            importlib.import_module(f"tests.reference.{module.name}")
    expected = {f.name: f.torch_equivalent for f in all_functions() if f.torch_equivalent}
    unproven = {name: oracle for name, oracle in expected.items() if PROVEN.get(name) != oracle}
    assert not unproven, f"no exactness test (@proves) holds these to torch: {unproven}"
