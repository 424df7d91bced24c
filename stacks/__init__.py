"""One module per stack kind; `build_app` composes them in deploy order."""
