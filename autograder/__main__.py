"""`python -m autograder` is the `optim-grader` command."""

from autograder.cli import main

raise SystemExit(main())
