"""What a jitted step does in each situation: replays, guards, records again, or runs eagerly (saying why).

Every scenario runs the same calls eagerly and jitted (``run_both``) and requires the same bits
after every call, and then checks how the jitted calls ran (``stats``) and what it warned.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from equivalence import compare, run_both, same_bits

from tinygrad_mnist import Function, JitWarning, Tensor, detect_anomaly, jit, nn, no_grad, optim
from tinygrad_mnist.autograd.function import Function as FunctionBase

RNG = np.random.default_rng(0)
BATCHES = [(RNG.standard_normal((5, 8)).astype(np.float32), RNG.integers(0, 3, 5)) for _ in range(8)]


def batch(i, rows=5):
    x, y = BATCHES[i % len(BATCHES)]
    return Tensor(x[:rows].copy()), y[:rows].copy()


def mlp(dropout=False, extra=()):
    layers = [nn.Linear(8, 6, seed=0), nn.Tanh()] + ([nn.Dropout(0.3, seed=1)] if dropout else []) + list(extra)
    return nn.Sequential(*layers, nn.Linear(6, 3, seed=2))


def classic(dropout=False, body=None, zero_grad=True, extra=()):
    """A make() for run_both: an MLP trained by SGD with momentum; ``body`` may change the step."""

    def make():
        model = mlp(dropout, [m() for m in extra])
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
        loss_fn = nn.SoftmaxCrossEntropyLoss()

        def step(x, y):
            out = model(x)
            if body is not None:
                out = body(out)
            loss = loss_fn(out, y)
            if zero_grad:
                opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        return step, list(model.parameters()), opt, model

    return make


def calls(n=8, rows=lambda i: 5):
    return [lambda i=i: batch(i, rows(i)) for i in range(n)]


# ---- replayed, bit for bit -----------------------------------------------------------------------
def test_a_training_step_is_replayed_after_two_recordings():
    jitted, _ = run_both(classic(), calls(), expect_replays=6)
    assert jitted.stats == {"eager": 0, "recorded": 2, "replayed": 6, "guard_failed": 0}


def test_dropout_draws_a_new_mask_at_every_replay():
    run_both(classic(dropout=True), calls(), expect_replays=6)


def test_gradients_accumulate_across_calls_without_zero_grad():
    # The first call finds no gradient to add to: a third recording is the first like the second.
    run_both(classic(zero_grad=False), calls(), expect_replays=5)


def test_a_manual_update_that_replaces_the_parameters_arrays():
    def make():
        model = mlp()
        loss_fn = nn.SoftmaxCrossEntropyLoss()

        def step(x, y):
            loss = loss_fn(model(x), y)
            model.zero_grad()
            loss.backward()
            with no_grad():
                for p in model.parameters():
                    p -= 0.1 * p.grad  # a new array for p each call: read anew by every replay
            return loss

        return step, list(model.parameters()), None, model

    run_both(make, calls(), expect_replays=6)


def test_a_learning_rate_changed_between_calls_is_read_by_the_replay():
    def set_lr(i, setup):
        if i == 5:
            setup[2].param_groups[0]["lr"] = 0.01

    jitted, _ = run_both(classic(), calls(), before=set_lr, expect_replays=6)
    assert jitted.stats["recorded"] == 2  # the update reads lr when it runs: nothing to record again


def test_a_parameter_written_in_place_between_calls_is_read_by_the_replay():
    def halve(i, setup):
        if i == 5:
            setup[1][0].data[...] *= 0.5

    jitted, _ = run_both(classic(), calls(), before=halve, expect_replays=6)
    assert jitted.stats["recorded"] == 2


def test_a_partial_batch_is_recorded_on_its_own_and_the_cache_is_bounded():
    run_both(classic(), calls(12, rows=lambda i: 3 if i % 3 == 2 else 5), expect_replays=6)
    step = classic()()[0]
    jitted = jit(step, max_programs=2)
    for rows in (5, 4, 3, 5, 5):
        jitted(*batch(0, rows))
    assert len(jitted.entries) == 2  # the shape of 5 rows was dropped, then recorded again


# ---- guards ----------------------------------------------------------------------------------------
def test_an_if_on_tensor_values_is_a_guard_checked_by_every_replay():
    def body(out):
        if (out.data[:, 0] > 0).sum() > 2:  # true for some batches, false for others
            return out * 2
        return out

    jitted, messages = run_both(classic(body=body), calls(16))
    assert jitted.stats["replayed"] >= 8 and jitted.stats["guard_failed"] >= 1  # some went the other way


def test_a_failed_guard_runs_the_call_eagerly_with_the_state_of_before_the_call():
    # A running mean updated in the forward pass, a random draw, then the loss's label check: bad
    # labels at call 6 fail the guard after both happened, and the eager run must start from the
    # state of before the call (the mean updated once, the same random numbers drawn).
    class RunningMean(nn.Module):
        def __init__(self):
            self.mean = nn.Parameter(np.zeros(6, np.float32))  # state of the module (never gets a gradient)

        def forward(self, x):
            self.mean.data *= np.float32(0.9)
            self.mean.data += np.float32(0.1) * x.data.mean(axis=0)
            return x

    def bad_labels(i):
        x, y = batch(i)
        return (x, np.full(5, 7)) if i == 6 else (x, y)

    def make():
        step, params, opt, model = classic(dropout=True, extra=[RunningMean])()
        running = next(m for m in model.modules() if isinstance(m, RunningMean))
        return step, params + [running.mean], opt, model

    def run(step, arguments):
        try:
            return step(*arguments)
        except ValueError as error:
            return str(error).split(";")[0]

    calls_ = [lambda i=i: bad_labels(i) for i in range(8)]
    setups = [make(), make()]
    steps = [setups[0][0], jit(setups[1][0])]
    for number, arguments in enumerate(calls_):
        outputs = [run(step, arguments()) for step in steps]
        compare((outputs[0], *setups[0][1:3]), (outputs[1], *setups[1][1:3]), f"call {number + 1}")
    assert steps[1].stats == {"eager": 1, "recorded": 2, "replayed": 5, "guard_failed": 1}


# ---- recorded again ------------------------------------------------------------------------------
def test_a_parameter_given_a_new_array_makes_the_step_record_again():
    def replace(i, setup):
        if i == 5:
            setup[1][0].data = setup[1][0].data * 2

    jitted, _ = run_both(classic(), calls(), before=replace)
    assert jitted.stats["recorded"] == 4 and jitted.stats["replayed"] == 4


def test_train_and_eval_modes_are_checked():
    def make():
        model = mlp(dropout=True)
        loss_fn = nn.SoftmaxCrossEntropyLoss()

        def step(x, y):
            with no_grad():
                return loss_fn(model(x), y)

        return step, list(model.parameters()), None, model

    def toggle(i, setup):
        setup[3].train(i < 4)

    jitted, _ = run_both(make, calls(), before=toggle)
    assert jitted.stats["recorded"] == 4  # two for training mode, two for evaluation mode


def test_a_module_given_a_new_layer_makes_the_step_record_again():
    def make():
        model = mlp()
        opt = optim.SGD(model.parameters(), lr=0.1)
        loss_fn = nn.SoftmaxCrossEntropyLoss()

        def step(x, y):
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        return step, list(model.parameters()), opt, model

    def replace(i, setup):
        if i == 5:
            _, _, opt, model = setup
            model.layer = nn.Linear(8, 6, seed=5)  # a new layer: the jit records again
            model._layers["0"].weight.data[...] = 0.25
            opt.param_groups[0]["params"] = list(model.parameters())

    jitted, _ = run_both(make, calls(), before=replace)
    assert jitted.stats["recorded"] == 4


def test_grad_mode_is_part_of_the_signature():
    model = mlp()

    @jit
    def forward(x):
        return model(x)

    with no_grad():
        for i in range(3):
            forward(batch(i)[0])
    assert forward.stats["replayed"] == 1
    forward(batch(0)[0])  # with grad mode on: another program
    assert len(forward.entries) == 2


# ---- eagerly, with a one-time warning that says why -------------------------------------------------
@pytest.mark.parametrize("reading, reason", [
    (lambda loss: loss.item(), ".item()"),
    (lambda loss: float(loss), ".item()"),
    (lambda loss: f"{loss.data}", "formatting"),
    (lambda loss: print(loss.data), "printing"),
])
def test_a_value_read_into_python_inside_the_function_runs_it_eagerly(reading, reason):
    def body(out):
        reading(out.sum())
        return out

    jitted, messages = run_both(classic(body=body), calls(), allow_warnings=True)
    assert jitted.stats == {"eager": 7, "recorded": 1, "replayed": 0, "guard_failed": 0}
    assert len(messages) == 1 and f"runs eagerly: {reason} of a tensor value inside the function" in messages[0]


def test_a_program_that_changes_at_every_call_runs_eagerly():
    def make():
        counter = [0]

        def body(out):
            counter[0] += 1
            return out * np.full(3, counter[0], np.float32)  # a new constant each call, from Python state

        return classic(body=body)()

    jitted, messages = run_both(make, calls(), allow_warnings=True)
    assert jitted.stats["replayed"] == 0 and jitted.stats["recorded"] == 4
    assert len(messages) == 1 and "changed from call to call (constant" in messages[0]


def test_outputs_are_detached_in_every_call_so_a_graph_left_alive_does_not_matter():
    model = mlp()

    @jit
    def forward(x):
        return model(x)

    outputs = [forward(batch(i)[0]) for i in range(3)]
    assert forward.stats["replayed"] == 1
    assert all(out._ctx is None and not out.requires_grad for out in outputs)
    assert same_bits(outputs[2].data, model(batch(2)[0]).data)


def test_anomaly_mode_runs_calls_eagerly():
    step = classic()()[0]
    jitted = jit(step)
    for i in range(3):
        jitted(*batch(i))
    with pytest.warns(JitWarning, match="detect_anomaly"), detect_anomaly():
        jitted(*batch(3))
    assert jitted.stats["eager"] == 1
    jitted(*batch(4))
    assert jitted.stats["replayed"] == 2


def test_a_gradient_left_on_an_argument_runs_eagerly():
    w = nn.Parameter(np.ones(3, np.float32))

    @jit
    def step(x):
        (x * w).sum().backward()

    with pytest.warns(JitWarning, match="passed to it"):
        for _ in range(3):
            step(Tensor(np.arange(3.0, dtype=np.float32), requires_grad=True))


# ---- replay semantics ------------------------------------------------------------------------------
def test_replays_build_no_graph(monkeypatch):
    step = classic()()[0]
    jitted = jit(step)
    for i in range(2):
        jitted(*batch(i))
    applied = []
    original = FunctionBase.apply.__func__
    monkeypatch.setattr(FunctionBase, "apply", classmethod(lambda cls, *a, **k: applied.append(cls) or original(cls, *a, **k)))
    jitted(*batch(2))
    assert jitted.stats["replayed"] == 1 and applied == []


def test_outputs_and_gradients_of_one_call_are_not_overwritten_by_the_next():
    step, params, _, _ = classic()()
    jitted = jit(step)
    kept = []
    for i in range(5):
        loss = jitted(*batch(i))
        kept.append((loss, loss.data.copy(), params[0].grad, params[0].grad.data.copy()))
    assert jitted.stats["replayed"] == 3
    for loss, value, gradient, gradient_value in kept:
        assert same_bits(loss.data, value) and same_bits(gradient.data, gradient_value)
        assert loss.grad is None and loss._ctx is None  # outputs are detached


def test_an_error_while_recording_leaves_the_tensors_as_they_were():
    step, params, _, _ = classic()()
    jitted = jit(step)
    with pytest.raises(ValueError, match="label 7 is out of range"):
        jitted(batch(0)[0], np.full(5, 7))
    assert all(type(p.data) is np.ndarray for p in params)
    jitted(*batch(1))
    assert all(type(p.data) is np.ndarray for p in params) and type(params[0].grad.data) is np.ndarray


def test_a_jitted_function_called_while_another_records_is_part_of_its_program():
    model = mlp()
    loss_fn = nn.SoftmaxCrossEntropyLoss()

    @jit
    def inner(x, y):
        return loss_fn(model(x), y)

    @jit
    def outer(x, y):
        loss = inner(x, y)
        model.zero_grad()
        loss.backward()
        return loss

    for i in range(4):
        outer(*batch(i))
    assert outer.stats["replayed"] == 2 and inner.stats == {"eager": 0, "recorded": 0, "replayed": 0, "guard_failed": 0}


def test_numbers_among_the_arguments_key_the_programs():
    model = mlp()

    @jit
    def scaled(x, scale):
        with no_grad():
            return model(x) * scale

    with no_grad():
        results = [scaled(batch(0)[0], s).data.copy() for s in (1.0, 2.0, 1.0, 2.0, 1.0, 2.0)]
    assert len(scaled.entries) == 2 and scaled.stats["replayed"] == 2
    assert same_bits(results[4] * 2, results[5])


def test_a_custom_function_with_a_pure_rule_is_replayed():
    class Cube(Function):
        def forward(self, x):
            return x ** 3

        def backward(self, grad, x, out):
            return (grad * 3 * x * x,)

    run_both(classic(body=lambda out: Cube.apply(out)), calls(), expect_replays=6)


def test_jit_warnings_name_the_function():
    def weird_step(x):
        return x.sum().item()

    jitted = jit(weird_step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jitted(Tensor(np.ones(2, np.float32)))
    assert any("jit(weird_step) runs eagerly" in str(w.message) for w in caught)
