"""A module that needs a package from an extra says, when the package is missing, which extra
to install. (The slow test in test_packaging.py checks it in a venv without the extras.)"""

from __future__ import annotations

import subprocess
import sys

import pytest

from kmssim.core import MissingExtra, requires_extra


def test_a_missing_package_becomes_an_error_naming_the_extra():
    with pytest.raises(MissingExtra) as caught, requires_extra("lessons", "kmssim.plot"):
        import kmssim_no_such_package  # noqa: F401
    error = caught.value
    assert isinstance(error, ModuleNotFoundError)   # code catching that still catches it
    assert error.name == "kmssim_no_such_package"
    assert error.install == 'pip install "kmssim[lessons]"'
    assert 'pip install "kmssim[lessons]"' in str(error)
    assert str(error).startswith("kmssim.plot needs the package 'kmssim_no_such_package'")


def test_a_broken_import_of_kmssim_itself_is_not_blamed_on_an_extra():
    with pytest.raises(ModuleNotFoundError) as caught, requires_extra("aws", "kmssim.bridge"):
        import kmssim.no_such_module  # noqa: F401
    assert not isinstance(caught.value, MissingExtra)


def test_an_unknown_extra_is_a_programming_error():
    with pytest.raises(ValueError, match="kmssim's extras are"), requires_extra("gui", "x"):
        pass


# (what a notebook imports, the package made missing, the module that needs it, its extra)
@pytest.mark.parametrize(("module", "blocked", "owner", "extra"), [
    ("kmssim.plot", "matplotlib", "kmssim.lessons.plot", "lessons"),
    ("kmssim.widgets", "ipywidgets", "kmssim.lessons.widgets", "lessons"),
    ("kmssim.bridge", "boto3", "kmssim.aws.bridge", "aws"),
    ("kmssim.aws.bridge", "botocore", "kmssim.aws.bridge", "aws"),
])
def test_each_short_name_says_which_extra_it_needs(module, blocked, owner, extra):
    # A None entry in sys.modules makes `import name` fail as if it were not installed.
    code = f"import sys\nsys.modules[{blocked!r}] = None\nimport {module}\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert f"MissingExtra: {owner} needs the package {blocked!r}" in result.stderr, result.stderr
    assert f'pip install "kmssim[{extra}]"' in result.stderr


def test_modules_that_draw_only_when_called_import_without_matplotlib():
    code = ("import sys\nsys.modules['matplotlib'] = None\n"
            "import kmssim.lessons.plot_services, kmssim.lessons.plot_cost\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
