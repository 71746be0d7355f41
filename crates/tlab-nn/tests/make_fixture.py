# Writes tests/data/mlp-4-3-2.safetensors with the reference `safetensors` package (0.8.0,
# numpy API) in PyTorch's nn.Linear layout (weight: out × in), and prints the network's
# output on one input, computed by numpy: relu(x W0ᵀ + b0) W1ᵀ + b1.
#   /path/to/venv/bin/python crates/tlab-nn/tests/make_fixture.py
import numpy as np
from safetensors.numpy import save_file

w0 = (np.arange(12, dtype=np.float32).reshape(3, 4) - 5) / 7
b0 = np.array([0.1, -0.2, 0.3], dtype=np.float32)
w1 = (np.arange(6, dtype=np.float32).reshape(2, 3) - 2) / 3
b1 = np.array([0.5, -0.5], dtype=np.float32)
save_file({"layers.0.weight": w0, "layers.0.bias": b0, "layers.1.weight": w1, "layers.1.bias": b1},
          "crates/tlab-nn/tests/data/mlp-4-3-2.safetensors")
x = np.array([[1.0, -2.0, 0.5, 3.0]], dtype=np.float32)
print(np.maximum(x @ w0.T + b0, 0) @ w1.T + b1)
