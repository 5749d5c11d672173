"""grader.sandbox: see the package map in README.md."""
