"""What the notebooks call: the lesson helpers (`teach`), the exercise self-checks, the
plots and the interactive panels. The only layer that imports matplotlib and ipywidgets."""


def _show_errors_briefly() -> None:
    """Inside a running IPython (a lesson's kernel), show kmssim's errors that escape a
    cell as AWS's words plus kmssim's hint (see `kmssim.aws.magic.show_errors_briefly`).
    IPython is not imported here unless it already is."""
    import sys
    if "IPython" not in sys.modules:
        return
    shell = sys.modules["IPython"].get_ipython()
    if shell is not None:
        from kmssim.aws.magic import show_errors_briefly
        show_errors_briefly(shell)


_show_errors_briefly()
