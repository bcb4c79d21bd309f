"""ModuleList and Identity."""
import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn


class Tower(nn.Module):
    def __init__(self, depth):
        self.blocks = nn.ModuleList(nn.Linear(3, 3, seed=i) for i in range(depth))
        self.head = nn.Linear(3, 1, seed=9)

    def forward(self, x):
        for block in self.blocks:
            x = block(x).tanh()
        return self.head(x)


def test_module_list_registers_its_modules_by_position():
    tower = Tower(2)
    assert [name for name, _ in tower.named_parameters()] == [
        "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias", "head.weight", "head.bias"]
    tower(Tensor(np.ones((2, 3), np.float32))).sum().backward()
    assert all(p.grad is not None for p in tower.parameters())


def test_module_list_behaves_like_a_list():
    blocks = nn.ModuleList([nn.ReLU()])
    blocks.append(nn.Tanh()).extend([nn.Identity(), nn.Sigmoid()])
    blocks.insert(1, nn.GeLU())
    assert [type(b).__name__ for b in blocks] == ["ReLU", "GeLU", "Tanh", "Identity", "Sigmoid"]
    assert len(blocks) == 5 and type(blocks[-1]).__name__ == "Sigmoid"
    assert [type(b).__name__ for b in blocks[1:3]] == ["GeLU", "Tanh"] and isinstance(blocks[1:3], nn.ModuleList)
    blocks[0] = nn.SiLU()
    del blocks[1]
    assert [name for name, _ in blocks.named_children()] == ["0", "1", "2", "3"]
    assert "(0): SiLU()" in repr(blocks)


def test_module_list_refuses_what_is_not_a_module_and_has_no_forward():
    with pytest.raises(TypeError, match="ModuleList: item 0 is the class ReLU, not a Module"):
        nn.ModuleList([nn.ReLU])
    with pytest.raises(TypeError, match="ModuleList: item 1 is a int, not a Module"):
        nn.ModuleList([nn.ReLU(), 3])
    with pytest.raises(NotImplementedError, match="ModuleList has no forward; iterate over it"):
        nn.ModuleList()(Tensor([1.0]))


def test_a_plain_list_of_layers_points_to_module_list():
    class Broken(nn.Module):
        def __init__(self):
            self.layers = [nn.Linear(2, 2)]

    with pytest.raises(TypeError, match=r"nn.Sequential\(\.\.\.\) or nn.ModuleList\(\.\.\.\)"):
        list(Broken().parameters())


def test_identity_returns_its_input_and_accepts_any_arguments():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert nn.Identity(54, unused="argument")(x) is x
    assert list(nn.Identity().parameters()) == []
