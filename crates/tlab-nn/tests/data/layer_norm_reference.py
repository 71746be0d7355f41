# Reference values for crates/tlab-nn/tests/layer_norm.rs, from PyTorch 2.15 (CPU):
#   pip install torch && python layer_norm_reference.py
# The network 3 -> 4 (LayerNorm, ReLU) -> 2 with the fixed weights below (weights in
# tlab's (in, out) layout), mean cross-entropy on two rows; prints logits and gradients.
import torch, torch.nn as nn
torch.set_printoptions(precision=8)
w0 = torch.tensor([[0.5,-0.25,0.1,0.3],[0.2,0.4,-0.6,0.05],[-0.3,0.15,0.25,-0.45]])  # (in, out) as tlab stores
b0 = torch.tensor([0.1,-0.2,0.05,0.0])
g = torch.tensor([1.5,0.5,1.0,2.0]); be = torch.tensor([0.1,-0.1,0.2,0.0])
w1 = torch.tensor([[0.3,-0.2],[0.1,0.4],[-0.5,0.2],[0.25,-0.15]]); b1 = torch.tensor([0.05,-0.05])
x = torch.tensor([[1.0,2.0,-1.0],[0.5,-1.5,2.0]]); y = torch.tensor([1,0])
P=[t.clone().requires_grad_() for t in (w0,b0,g,be,w1,b1)]
ln = nn.LayerNorm(4)
with torch.no_grad(): ln.weight.copy_(g); ln.bias.copy_(be)
def fwd(P):
    z = x@P[0]+P[1]
    z = nn.functional.layer_norm(z,(4,),P[2],P[3],1e-5)
    return torch.relu(z)@P[4]+P[5]
out=fwd(P); print("logits", out.detach().flatten().tolist())
loss=nn.functional.cross_entropy(out,y); loss.backward()
for n,p in zip(["w0","b0","gamma","beta"],P): print(n, p.grad.flatten().tolist())
