"""Reference optimizers and schedules, exact to torch.optim, and their known-bug variants.

Every optimizer has the student contract's shape, `f(x, grad, state, **hyperparameters) -> x'`;
every schedule is a pure function of the step. The grader compares students with these.
"""
