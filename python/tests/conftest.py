"""Shared fixtures: the built-in models load once per test session."""

import pytest

import clearsight as cs


@pytest.fixture(scope="session")
def vl():
    return cs.load_model("cs-tiny-vl")


@pytest.fixture(scope="session")
def audio():
    return cs.load_model("cs-tiny-audio")
