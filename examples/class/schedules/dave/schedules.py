"""Dave's schedules: step_lr counts its decays in a loop that never ends."""


def step_lr(step, *, lr, step_size, gamma=0.1):
    decays, counted = 0, step_size
    while counted <= step:
        decays += 1  # forgot: counted += step_size
    return lr * gamma**decays


def exponential_lr(step, *, lr, gamma):
    return lr * gamma**step
