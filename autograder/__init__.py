"""optim-grader: grades students' optimizers and schedules against exact references."""
