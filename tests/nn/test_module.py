"""Module: registration order, traversal, modes, gradients, state dicts and repr; Parameter."""
import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.errors import CheckpointError
from tinygrad_mnist.nn import Module, Parameter


class Block(nn.Module):
    def __init__(self):
        self.second = nn.Parameter(np.ones(2, dtype=np.float32))  # assigned first on purpose: order is assignment order
        self.inner = nn.Linear(2, 3, seed=0)
        self.first = nn.Parameter(np.ones(1, dtype=np.float32))
        self.note = "not registered"
        self.constant = Tensor(np.ones(2))  # a plain Tensor is not a parameter

    def forward(self, x):
        return self.inner(x * self.second * self.first)


class Outer(nn.Module):
    def __init__(self):
        self.block = Block()
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(3, 1, seed=1))

    def forward(self, x):
        return self.head(self.block(x))


def test_parameters_are_registered_in_definition_order_with_dotted_names():
    names = [name for name, _ in Outer().named_parameters()]
    # As in PyTorch: module by module (depth first), each module's own parameters before its children's.
    assert names == ["block.second", "block.first", "block.inner.weight", "block.inner.bias", "head.1.weight", "head.1.bias"]
    model = Outer()
    assert [id(p) for p in model.parameters()] == [id(p) for _, p in model.named_parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())


def test_children_and_modules():
    model = Outer()
    assert [name for name, _ in model.named_children()] == ["block", "head"]
    assert list(model.children()) == [model.block, model.head]
    assert [name for name, _ in model.named_modules()] == ["", "block", "block.inner", "head", "head.0", "head.1"]
    assert list(model.modules())[0] is model


def test_shared_parameters_and_modules_are_listed_once():
    class Tied(nn.Module):
        def __init__(self):
            self.a = nn.Linear(2, 2, seed=0)
            self.b = self.a
            self.w = self.a.weight

    tied = Tied()
    assert [name for name, _ in tied.named_parameters()] == ["w", "a.bias"]  # own parameters come first
    assert len(list(tied.modules())) == 2


@pytest.mark.parametrize("inner_first", [True, False])
def test_a_module_held_twice_is_listed_at_its_first_place_as_in_pytorch(inner_first):
    shared = nn.Linear(2, 2, seed=0)
    inner = nn.Sequential(nn.ReLU(), shared)
    model = nn.Sequential(inner, shared) if inner_first else nn.Sequential(shared, inner)
    named = list(model.named_modules())
    if inner_first:
        assert [name for name, _ in named] == ["", "0", "0.0", "0.1"]
        assert named[3][1] is shared
        assert [name for name, _ in model.named_parameters()] == ["0.1.weight", "0.1.bias"]
    else:
        assert [name for name, _ in named] == ["", "0", "1", "1.0"]
        assert named[1][1] is shared
        assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]


def test_a_module_that_holds_its_owner_is_listed_once():
    class Child(nn.Module):
        def __init__(self, owner):
            self.owner = owner  # a back reference: a cycle in the module graph

    class Owner(nn.Module):
        def __init__(self):
            self.child = Child(self)
            self.weight = nn.Parameter(np.ones(1, dtype=np.float32))

    owner = Owner()
    assert [name for name, _ in owner.named_modules()] == ["", "child"]
    assert [name for name, _ in owner.named_parameters()] == ["weight"]


def test_a_deep_stack_of_modules_needs_no_recursion():
    model = nn.ReLU()
    for _ in range(5_000):
        model = nn.Sequential(model)
    assert len(list(model.modules())) == 5_001


def test_assignment_replaces_and_deletion_unregisters():
    model = Block()
    model.first = nn.Parameter(np.zeros(5))  # keeps its place
    del model.second
    assert [name for name, _ in model.named_parameters()] == ["first", "inner.weight", "inner.bias"]
    assert model.first.shape == (5,)


def test_a_plain_list_of_modules_is_an_error_not_a_silent_loss_of_parameters():
    class Wrong(nn.Module):
        def __init__(self):
            self.layers = [nn.Linear(2, 2), nn.Linear(2, 2)]

    with pytest.raises(TypeError, match="Sequential"):
        list(Wrong().parameters())


def test_call_runs_forward_and_base_forward_is_abstract():
    model = Outer()
    out = model(Tensor(np.ones((4, 2), dtype=np.float32)))
    assert out.shape == (4, 1)
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_train_and_eval_reach_every_module():
    model = Outer()
    assert model.training and all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_sets_grads_to_none():
    model = Outer()
    model(Tensor(np.ones((2, 2), dtype=np.float32))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_holds_copies_and_round_trips():
    source, target = nn.MLP(4, [5], 3, seed=0), nn.MLP(4, [5], 3, seed=1)
    state = source.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    state["layers.0.bias"][:] = 7.0  # a copy: editing it leaves the model alone
    assert np.all(source.layers[0].bias.numpy() == 0)
    before = {name: id(p.data) for name, p in target.named_parameters()}
    result = target.load_state_dict(source.state_dict())
    assert result == nn.LoadResult([], [])
    for (name, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert id(b.data) == before[name]  # loaded in place


def test_strict_loading_names_missing_and_unexpected_keys():
    model = nn.MLP(4, [5], 3, seed=0)
    state = model.state_dict()
    del state["layers.2.bias"]
    state["layers.4.weight"] = np.zeros((3, 3), dtype=np.float32)
    with pytest.raises(CheckpointError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "missing keys: layers.2.bias" in message
    assert "unexpected keys: layers.4.weight" in message
    assert "strict=False" in message


def test_non_strict_loading_skips_missing_and_unexpected_keys():
    model = nn.MLP(4, [5], 3, seed=0)
    state = {"layers.0.bias": np.full(5, 2.0, dtype=np.float32), "extra": np.zeros(1)}
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["layers.0.weight", "layers.2.weight", "layers.2.bias"]
    assert result.unexpected_keys == ["extra"]
    assert np.all(model.layers[0].bias.numpy() == 2.0)


def test_shape_and_dtype_mismatches_are_errors_even_when_not_strict_and_change_nothing():
    model = nn.MLP(4, [5], 3, seed=0)
    original = model.state_dict()
    state = model.state_dict()
    state["layers.0.bias"] = np.ones(5, dtype=np.float32)
    state["layers.0.weight"] = np.zeros((4, 6), dtype=np.float32)
    state["layers.2.weight"] = state["layers.2.weight"].astype(np.float64)
    with pytest.raises(CheckpointError) as error:
        model.load_state_dict(state, strict=False)
    message = str(error.value)
    assert "shape mismatch for layers.0.weight: the model has (4, 5), the state has (4, 6)" in message
    assert "dtype mismatch for layers.2.weight: the model has float32, the state has float64" in message
    for name, value in model.state_dict().items():  # all or nothing
        np.testing.assert_array_equal(value, original[name])
    with pytest.raises(CheckpointError, match="mapping"):
        model.load_state_dict([1, 2])


def test_checkpoint_errors_are_value_errors():
    assert issubclass(CheckpointError, ValueError)


def test_repr_is_nested_like_pytorch():
    assert repr(Outer()) == (
        "Outer(\n"
        "  (block): Block(\n"
        "    (inner): Linear(in_features=2, out_features=3, bias=True)\n"
        "  )\n"
        "  (head): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Linear(in_features=3, out_features=1, bias=True)\n"
        "  )\n"
        ")"
    )


def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter([1.0, 2.0], name="p")
    assert isinstance(p, Tensor) and p.requires_grad and p.is_leaf and p.dtype == np.float32 and p.name == "p"
    assert nn.Parameter(np.zeros(2)).dtype == np.float64
    assert repr(p).startswith("Parameter containing:\nTensor(")
    assert not hasattr(p, "__dict__")  # __slots__ = ()
    assert type(p * 2) is Tensor  # results of ops are ordinary tensors
    with pytest.raises(TypeError, match="floating-point"):
        nn.Parameter(np.array([1, 2]))


# ---- assignments that would silently drop a weight (issue 11) -------------------------------------
def test_assigning_a_plain_tensor_over_a_parameter_is_refused():
    from tinygrad_mnist.nn import Linear

    lin = Linear(3, 2, seed=0)
    before = lin.weight
    with pytest.raises(TypeError, match=r"cannot assign a Tensor to Linear\.weight, which holds a Parameter.*Parameter\(\.\.\.\)"):
        lin.weight = lin.weight - 0.1
    assert lin.weight is before and list(lin.state_dict()) == ["weight", "bias"]
    lin.weight = Parameter(np.zeros((3, 2), dtype=np.float32))  # a new Parameter is fine
    assert [name for name, _ in lin.named_parameters()] == ["weight", "bias"]
    lin.weight.data[...] -= 0.1  # and so is an in-place update
    lin.extra = Tensor([1.0])  # constants and recorded results are fine too
    lin.cache = lin.weight * 2
    lin.weight = None  # as in PyTorch, None removes the weight deliberately
    assert [name for name, _ in lin.named_parameters()] == ["bias"]


def test_a_requires_grad_leaf_tensor_attribute_is_refused_with_advice():
    class Scaled(Module):
        def __init__(self):
            self.w = Tensor([1.0], requires_grad=True)

    with pytest.raises(TypeError, match=r"Scaled\.w = a Tensor with requires_grad=True is not registered.*Parameter"):
        Scaled()


def test_other_values_over_a_parameter_or_a_module_are_refused():
    from tinygrad_mnist.nn import Linear, Sequential

    lin = Linear(3, 2, seed=0)
    with pytest.raises(TypeError, match=r"cannot assign a value of type ndarray to Linear\.weight, which holds a Parameter"):
        lin.weight = np.zeros((3, 2), dtype=np.float32)
    class Net(Module):
        def __init__(self):
            self.body = Sequential(Linear(3, 2, seed=0))

    net = Net()
    with pytest.raises(TypeError, match=r"cannot assign a value of type list to Net\.body, which holds a Module"):
        net.body = [Linear(3, 2)]
    net.body = Linear(3, 2, seed=1)  # another Module is fine
    assert [name for name, _ in net.named_parameters()] == ["body.weight", "body.bias"]
