"""grader.report: see the package map in README.md."""
