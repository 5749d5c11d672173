"""grader.course: see the package map in README.md."""
