"""Package mapping: the top-level stage folders install as subpackages of ``dhispatch``.

The repository keeps one folder per stage (DESIGN §2); installed, they live under one namespace
because the bare names ``dsl``, ``compiler`` and ``runtime`` are taken on PyPI. setuptools cannot
prefix discovered packages itself, so the list is computed here and everything else stays in
pyproject.toml.
"""

from setuptools import find_packages
from setuptools import setup

STAGES = ("dsl", "compiler", "runtime")

packages = []
for stage in STAGES:
    packages.append(f"dhispatch.{stage}")
    packages += [f"dhispatch.{stage}.{sub}" for sub in find_packages(stage)]

setup(packages=packages, package_dir={f"dhispatch.{stage}": stage for stage in STAGES})
