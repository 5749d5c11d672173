"""grader.training: see the package map in README.md."""
