"""grader.submissions: see the package map in README.md."""
