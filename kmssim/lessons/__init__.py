"""What the notebooks call: the lesson helpers (`teach`), the exercise self-checks, the
plots and the interactive panels. The only layer that imports matplotlib and ipywidgets."""
